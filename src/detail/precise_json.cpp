// SPDX-License-Identifier: BSL-1.0
// The correctly rounded JSON reader (see precise_json.hpp), and the search for non-finite numbers.

#include "detail/precise_json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <system_error>
#include <vector>

namespace smooch::detail {
namespace {

namespace bj = boost::json;

// Builds the same value as boost::json::parser, with numbers read by precise_double (see precise_json.hpp).
struct precise_handler {
    static constexpr std::size_t max_object_size = bj::object::max_size();
    static constexpr std::size_t max_array_size = bj::array::max_size();
    static constexpr std::size_t max_key_size = bj::string::max_size();
    static constexpr std::size_t max_string_size = bj::string::max_size();

    // The stack of values under construction starts in the caller's buffer: small documents need no heap.
    precise_handler(unsigned char* temp, std::size_t size) : st(bj::storage_ptr(), temp, size) {}

    bj::value_stack st;
    std::string number;                   // the text of a number split across buffers
    std::size_t out_of_range_length = 0;  // length of a number beyond the double range, 0 if none
    out_of_range_numbers policy = out_of_range_numbers::fail;
    bool out_of_range = false;  // with keep_infinity: some number became ±infinity

    bool on_document_begin(bj::error_code&) { return true; }
    bool on_document_end(bj::error_code&) { return true; }
    bool on_object_begin(bj::error_code&) { return true; }
    bool on_object_end(std::size_t n, bj::error_code&)
    {
        st.push_object(n);
        return true;
    }
    bool on_array_begin(bj::error_code&) { return true; }
    bool on_array_end(std::size_t n, bj::error_code&)
    {
        st.push_array(n);
        return true;
    }
    bool on_key_part(bj::string_view s, std::size_t, bj::error_code&)
    {
        st.push_chars(s);
        return true;
    }
    bool on_key(bj::string_view s, std::size_t, bj::error_code&)
    {
        st.push_key(s);
        return true;
    }
    bool on_string_part(bj::string_view s, std::size_t, bj::error_code&)
    {
        st.push_chars(s);
        return true;
    }
    bool on_string(bj::string_view s, std::size_t, bj::error_code&)
    {
        st.push_string(s);
        return true;
    }
    bool on_number_part(bj::string_view s, bj::error_code&)
    {
        number.append(s.data(), s.size());
        return true;
    }
    bool on_int64(std::int64_t i, bj::string_view, bj::error_code&)
    {
        number.clear();
        st.push_int64(i);
        return true;
    }
    bool on_uint64(std::uint64_t u, bj::string_view, bj::error_code&)
    {
        number.clear();
        st.push_uint64(u);
        return true;
    }
    bool on_double(double d, bj::string_view s, bj::error_code& ec)
    {
        number.append(s.data(), s.size());
        double x = 0;
        if (!precise_double(number, d, x, out_of_range_length, ec, policy, &out_of_range)) return false;
        number.clear();
        st.push_double(x);
        return true;
    }
    bool on_bool(bool b, bj::error_code&)
    {
        st.push_bool(b);
        return true;
    }
    bool on_null(bj::error_code&)
    {
        st.push_null();
        return true;
    }
    bool on_comment_part(bj::string_view, bj::error_code&) { return true; }
    bool on_comment(bj::string_view, bj::error_code&) { return true; }
};

bool non_finite(const bj::value& v) { return v.is_double() && !std::isfinite(v.get_double()); }

}  // namespace

bool precise_double(std::string& number, double d, double& out, std::size_t& out_of_range_length, bj::error_code& ec,
                    out_of_range_numbers policy, bool* out_of_range)
{
    // std::from_chars is correctly rounded, unlike Boost.JSON 1.81's fast path.
    double x = d;
    const auto res = std::from_chars(number.data(), number.data() + number.size(), x);
    if (res.ec == std::errc::result_out_of_range) {
        if (std::isinf(d) || std::fabs(d) >= 1.0) {
            if (policy == out_of_range_numbers::keep_infinity) {
                x = number.front() == '-' ? -HUGE_VAL : HUGE_VAL;
                if (out_of_range) *out_of_range = true;
            } else {
                out_of_range_length = number.size();
                number.clear();
                ec = bj::error::exponent_overflow;
                return false;
            }
        } else {
            // Underflow (1e-400): zero of the right sign, as the nearest double.
            x = number.front() == '-' ? -0.0 : 0.0;
        }
    } else if (res.ec != std::errc{}) {
        x = d;  // cannot happen for text the parser accepted; keep Boost's value
    }
    out = x;
    return true;
}

precise_parse parse_precise(std::string_view text, boost::json::value& out, out_of_range_numbers policy)
{
    alignas(std::max_align_t) unsigned char temp[2048];  // the value stack starts here: no heap for small text
    bj::basic_parser<precise_handler> p(bj::parse_options{}, temp, sizeof temp);
    p.handler().st.reset(out.storage());
    p.handler().policy = policy;
    precise_parse r;
    r.consumed = p.write_some(false, text.data(), text.size(), r.ec);
    if (!r.ec && r.consumed < text.size()) r.ec = bj::error::extra_data;
    r.out_of_range_length = p.handler().out_of_range_length;
    r.out_of_range = p.handler().out_of_range;
    if (!r.ec) out = p.handler().st.release();
    return r;
}

bool find_non_finite(const boost::json::object& root, std::string& path)
{
    bool nested = false;
    for (const auto& kv : root) {  // the common case, a flat object: no allocation
        if (non_finite(kv.value())) {
            append_path_key(path, kv.key());
            return true;
        }
        nested = nested || kv.value().is_structured();
    }
    if (!nested) return false;

    struct frame {
        const boost::json::object* object;  // one of object/array
        const boost::json::array* array;
        std::size_t next;
        std::size_t path_size;  // path of this container
    };
    std::vector<frame> stack{{&root, nullptr, 0, path.size()}};
    while (!stack.empty()) {
        frame& f = stack.back();
        path.resize(f.path_size);
        const boost::json::value* child = nullptr;
        if (f.object) {
            if (f.next < f.object->size()) {
                const auto& kv = *(f.object->begin() + static_cast<std::ptrdiff_t>(f.next));
                append_path_key(path, kv.key());
                child = &kv.value();
            }
        } else if (f.next < f.array->size()) {
            append_path_index(path, f.next);
            child = &(*f.array)[f.next];
        }
        if (!child) {
            stack.pop_back();
            continue;
        }
        ++f.next;  // before push_back, which may move the frames
        if (non_finite(*child)) return true;
        if (const auto* o = child->if_object()) stack.push_back({o, nullptr, 0, path.size()});
        else if (const auto* a = child->if_array()) stack.push_back({nullptr, a, 0, path.size()});
    }
    return false;
}

}  // namespace smooch::detail

// SPDX-License-Identifier: BSL-1.0
// parse<T>(): JSON text to a model. The text is read straight into the model: the parser's events fill members
// as they arrive, with no intermediate tree. The typing rules and error texts are the tree reader's (scalars go
// through read() of json_read.hpp), and a type error is reported only once the whole text has proved to be
// valid JSON, as the tree reader does.

#include "models/json_internal.hpp"
#include "models/json_read.hpp"

#include "detail/precise_json.hpp"
#include "detail/utf8.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value_stack.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace smooch {
namespace {

namespace bj = boost::json;
using detail::field_index;
using detail::fields_of;
using detail::max_read_depth;
using detail::model;
using detail::read;
using detail::reader;

std::string describe_parse_error(std::string_view text, std::size_t offset, const bj::error_code& ec,
                                 std::size_t out_of_range_length)
{
    // The parser stops after an out-of-range number; point at its start, and do not call a 400-digit
    // integer an "exponent overflow".
    if (out_of_range_length != 0 && out_of_range_length <= offset)
        return "invalid JSON at offset " + std::to_string(offset - out_of_range_length) +
               ": number out of the range of a double";
    std::string msg = "invalid JSON at offset " + std::to_string(offset) + ": " + ec.message();
    if (ec == bj::error::too_deep) {
        msg += " (nesting deeper than " + std::to_string(bj::parse_options{}.max_depth) + " levels)";
    } else if (ec == bj::error::syntax) {
        // Boost.JSON reports invalid UTF-8 inside a string as a plain syntax error at the offending byte.
        if (const auto bad = detail::invalid_utf8_at(text); bad != std::string_view::npos && bad <= offset) {
            char hex[3];
            const auto b = static_cast<unsigned char>(text[bad]);
            constexpr char digits[] = "0123456789abcdef";
            hex[0] = digits[b >> 4];
            hex[1] = digits[b & 0xF];
            hex[2] = '\0';
            msg += " (invalid UTF-8 byte 0x" + std::string(hex) + " at offset " + std::to_string(bad) + ")";
        }
    } else if (ec == bj::error::incomplete) {
        msg += " (the text ends before the JSON value does)";
    } else if (ec == bj::error::extra_data) {
        msg += " (text after the JSON value)";
    }
    return msg;
}

template <class M>
struct member_shape {  // M as declared, and the value inside an optional or indirect
    using inner = M;
    static M& fresh(M& m)
    {
        m = M{};
        return m;
    }
};
template <class M>
struct member_shape<std::optional<M>> {
    using inner = M;
    static M& fresh(std::optional<M>& m) { return m.emplace(); }
};
template <class M>
struct member_shape<indirect<M>> {
    using inner = M;
    static M& fresh(indirect<M>& m)
    {
        m = indirect<M>(M{});
        return *m;
    }
};

template <class M>
struct is_open_enum : std::false_type {};
template <class E>
struct is_open_enum<open_enum<E>> : std::true_type {};

template <class M>
struct is_vector : std::false_type {};
template <class E>
struct is_vector<std::vector<E>> : std::true_type {};

class stream_reader {
public:
    static constexpr std::size_t max_object_size = bj::object::max_size();
    static constexpr std::size_t max_array_size = bj::array::max_size();
    static constexpr std::size_t max_key_size = bj::string::max_size();
    static constexpr std::size_t max_string_size = bj::string::max_size();

    template <class T>
    stream_reader(T& root, std::string_view text, unsigned char* temp, std::size_t temp_size)
        : text_(text), raw_(bj::storage_ptr(), temp, temp_size)
    {
        frames_[0] = frame{&root, &ops_for_root<T>};
        depth_ = 1;
    }

    reader r;             // the path, and the first type error
    bool failed = false;  // a type error was found: keep checking syntax, build nothing more
    std::size_t out_of_range_length = 0;

    // ---- parser events
    bool on_document_begin(bj::error_code&) { return true; }
    bool on_document_end(bj::error_code&) { return true; }
    bool on_object_begin(bj::error_code&) { return value_begins(event::object); }
    bool on_array_begin(bj::error_code&) { return value_begins(event::array); }
    bool on_object_end(std::size_t, bj::error_code&) { return container_ends(true); }
    bool on_array_end(std::size_t, bj::error_code&) { return container_ends(false); }
    bool on_key_part(bj::string_view s, std::size_t, bj::error_code&) { return piece(s); }
    bool on_key(bj::string_view s, std::size_t, bj::error_code&)
    {
        if (failed) return true;
        if (raw_depth_) {
            raw_.push_key(s);
            return true;
        }
        frame& f = frames_[depth_ - 1];
        std::string_view key(s.data(), s.size());
        if (!pending_.empty() || !inside_text(key)) {  // escaped or split: the view would not outlive this call
            pending_.append(key);
            if (!key_store_) key_store_ = std::make_unique<std::array<std::string, 40>>();
            auto& stored = (*key_store_)[depth_ - 1];
            stored = std::move(pending_);
            pending_.clear();
            key = stored;
        }
        f.key = key;
        f.field = f.ops->find(key);
        return true;
    }
    bool on_string_part(bj::string_view s, std::size_t, bj::error_code&) { return piece(s); }
    bool on_string(bj::string_view s, std::size_t, bj::error_code&)
    {
        if (failed) return true;
        if (raw_depth_) {
            raw_.push_string(s);
            return raw_value_done();
        }
        if (!pending_.empty()) {
            pending_.append(s.data(), s.size());
            const std::string whole = std::move(pending_);
            pending_.clear();
            return scalar(event::string, bj::value(), whole);
        }
        return scalar(event::string, bj::value(), std::string_view(s.data(), s.size()));
    }
    bool on_number_part(bj::string_view s, bj::error_code&)
    {
        number_.append(s.data(), s.size());
        return true;
    }
    bool on_int64(std::int64_t i, bj::string_view, bj::error_code&)
    {
        number_.clear();
        return failed || (raw_depth_ ? (raw_.push_int64(i), raw_value_done()) : scalar(event::other, bj::value(i)));
    }
    bool on_uint64(std::uint64_t u, bj::string_view, bj::error_code&)
    {
        number_.clear();
        return failed || (raw_depth_ ? (raw_.push_uint64(u), raw_value_done()) : scalar(event::other, bj::value(u)));
    }
    bool on_double(double d, bj::string_view s, bj::error_code& ec)
    {
        number_.append(s.data(), s.size());
        double x = 0;
        if (!detail::precise_double(number_, d, x, out_of_range_length, ec)) return false;
        number_.clear();
        return failed || (raw_depth_ ? (raw_.push_double(x), raw_value_done()) : scalar(event::other, bj::value(x)));
    }
    bool on_bool(bool b, bj::error_code&)
    {
        return failed || (raw_depth_ ? (raw_.push_bool(b), raw_value_done()) : scalar(event::other, bj::value(b)));
    }
    bool on_null(bj::error_code&)
    {
        return failed || (raw_depth_ ? (raw_.push_null(), raw_value_done()) : scalar(event::other, bj::value()));
    }
    bool on_comment_part(bj::string_view, bj::error_code&) { return true; }
    bool on_comment(bj::string_view, bj::error_code&) { return true; }

private:
    enum class event { string, other, object, array };
    struct frame;
    // What a frame needs to know of the C++ type it fills.
    struct frame_ops {
        int (*find)(std::string_view key);  // model: field index, -1 for an unknown key
        // A value starts at `slot` (model field, or vector element): a scalar (in `v`/`text`) or a container.
        bool (*value)(stream_reader& self, void* obj, int slot, event e, const bj::value& v, std::string_view text);
        bool (*end)(stream_reader& self, void* obj, std::uint64_t seen);  // model: required keys
        json_object* (*extra)(void* obj);
        bool is_vector;
    };
    struct frame {  // no member initializers: frames are built whole, frame{obj, ops}, when pushed
        void* obj;
        const frame_ops* ops;
        std::string_view key;      // model: the key whose value is being read
        json_object* raw_target;   // raw JSON being captured for this frame: into here...
        std::string_view raw_key;  // ...under this key (unknown keys), or as the whole object (null key)
        int field;                 // model: index of `key`, -1 if unknown (set by each key)
        std::size_t index;         // vector: elements so far
        std::uint64_t seen;        // model: fields present
        bool segment;              // a path segment is pushed for the value being read
    };

    // A piece of a key or string that arrives in parts (escapes, or text split across buffers).
    bool piece(bj::string_view s)
    {
        if (failed) return true;
        if (raw_depth_) raw_.push_chars(s);
        else pending_.append(s.data(), s.size());
        return true;
    }

    bool inside_text(std::string_view s) const
    {
        return s.data() >= text_.data() && s.data() + s.size() <= text_.data() + text_.size();
    }

    bool fail_now()
    {
        failed = true;
        return true;  // keep parsing: a syntax error later in the text takes precedence
    }

    // Enters the value that is starting in the innermost frame: pushes its path segment (noting in the frame
    // whether it could), returns the slot.
    int enter_value(frame& f)
    {
        if (f.ops->is_vector) {
            f.segment = r.push({{}, f.index});
            return static_cast<int>(f.index++);
        }
        f.segment = r.push({f.key, 0});
        if (f.field >= 0) f.seen |= std::uint64_t{1} << f.field;
        return f.field;
    }
    // Leaves the value of frame `f`: pops its path segment.
    void leave_value(frame& f)
    {
        if (f.segment) r.pop();
        f.segment = false;
    }

    bool scalar(event e, const bj::value& v, std::string_view text = {})
    {
        frame& f = frames_[depth_ - 1];
        if (depth_ == 1 && !root_started_) {
            root_started_ = true;
            if (!f.ops->value(*this, f.obj, 0, e, v, text)) return fail_now();
            return true;
        }
        const int slot = enter_value(f);
        bool ok;
        if (!f.ops->is_vector && slot < 0) {
            ok = true;
            f.ops->extra(f.obj)->insert_or_assign(f.key,
                                                  e == event::string ? bj::value(bj::string_view(text)) : bj::value(v));
        } else {
            ok = f.ops->value(*this, f.obj, slot, e, v, text);
        }
        leave_value(f);
        return ok || fail_now();
    }

    bool value_begins(event e)
    {
        if (failed) return true;
        if (raw_depth_) {
            raw_counts_[raw_depth_++] = 0;
            return true;
        }
        frame& f = frames_[depth_ - 1];
        int slot = 0;
        if (depth_ == 1 && !root_started_) {
            root_started_ = true;
        } else {
            slot = enter_value(f);
            if (!f.ops->is_vector && slot < 0) {  // unknown key: kept verbatim
                start_raw(f.ops->extra(f.obj), f.key);
                return true;
            }
        }
        if (!f.ops->value(*this, f.obj, slot, e, bj::value(), {})) return fail_now();
        return true;
    }

    bool container_ends(bool object)
    {
        if (failed) return true;
        if (raw_depth_) {
            const std::size_t n = raw_counts_[raw_depth_ - 1];
            if (object) raw_.push_object(n);
            else raw_.push_array(n);
            --raw_depth_;
            if (raw_depth_ == 0) return raw_done();
            ++raw_counts_[raw_depth_ - 1];
            return true;
        }
        // The innermost model or vector is complete.
        frame& f = frames_[depth_ - 1];
        if (!f.ops->is_vector && !f.ops->end(*this, f.obj, f.seen)) return fail_now();
        --r.depth;
        --depth_;
        leave_value(frames_[depth_ - 1]);  // the container was the value of its parent frame
        return true;
    }

    // ---- raw JSON (json_object members and unknown keys), captured with a value stack
    void start_raw(json_object* target, std::string_view key)
    {
        frame& f = frames_[depth_ - 1];
        f.raw_target = target;
        f.raw_key = key;
        raw_.reset(bj::storage_ptr());
        raw_counts_[0] = 0;
        raw_depth_ = 1;
    }
    bool raw_value_done()
    {
        ++raw_counts_[raw_depth_ - 1];
        return true;
    }
    bool raw_done()
    {
        frame& f = frames_[depth_ - 1];
        bj::value v = raw_.release();
        if (f.raw_key.data() != nullptr) {
            f.raw_target->insert_or_assign(f.raw_key, std::move(v));
        } else {
            *f.raw_target = std::move(v.get_object());
        }
        f.raw_target = nullptr;
        f.raw_key = {};
        leave_value(f);
        return true;
    }

    // ---- pushing frames, from the typed side
    template <class U>
    bool push_model(U& obj)
    {
        if (r.depth >= max_read_depth || depth_ >= frames_.size()) return r.fail("nesting too deep");
        ++r.depth;
        frames_[depth_++] = frame{&obj, &ops_for_model<U>};
        return true;
    }
    template <class E>
    bool push_vector(std::vector<E>& v)
    {
        if (r.depth >= max_read_depth || depth_ >= frames_.size()) return r.fail("nesting too deep");
        ++r.depth;
        v.clear();
        frames_[depth_++] = frame{&v, &ops_for_vector<E>};
        return true;
    }

    // A value of the declared member type M starts: a scalar is read with the tree reader's rules; a
    // container opens a frame, or is a type error worded as the tree reader words it.
    template <class M>
    static bool begin_value(stream_reader& self, M& m, event e, const bj::value& v, std::string_view text)
    {
        using shape = member_shape<M>;
        using U = typename shape::inner;
        if (e == event::string) {
            if constexpr (std::is_same_v<U, std::string>) {
                shape::fresh(m).assign(text);
                return true;
            } else if constexpr (is_open_enum<U>::value) {
                shape::fresh(m) = U(std::string(text));
                return true;
            } else {
                return read(bj::value(bj::string_view(text)), m, self.r);
            }
        }
        if (e == event::other) return read(v, m, self.r);
        if (e == event::object) {
            if constexpr (model<U>) {
                return self.push_model(shape::fresh(m));
            } else if constexpr (std::is_same_v<U, json_object>) {
                self.start_raw(&shape::fresh(m), {});
                return true;
            } else {
                return read(bj::value(bj::object_kind), m, self.r);
            }
        }
        if constexpr (is_vector<U>::value) return self.push_vector(shape::fresh(m));
        else return read(bj::value(bj::array_kind), m, self.r);
    }

    using applier = bool (*)(stream_reader&, void*, event, const bj::value&, std::string_view);
    // One function per field of T: a value for field I goes straight to its member.
    template <class T, std::size_t... I>
    static constexpr std::array<applier, sizeof...(I)> field_appliers(std::index_sequence<I...>)
    {
        return {[](stream_reader& self, void* obj, event e, const bj::value& v, std::string_view text) {
            constexpr auto f = std::get<I>(fields_of<T>::get());
            return begin_value(self, static_cast<T*>(obj)->*(f.ptr), e, v, text);
        }...};
    }

    // How a frame fills a model, a vector, and the root; defined after the class, where it is complete.
    template <class T>
    static const frame_ops ops_for_model;
    template <class E>
    static const frame_ops ops_for_vector;
    template <class T>
    static const frame_ops ops_for_root;  // one value of type T, read like a member

    std::string_view text_;
    std::array<frame, 40> frames_;  // Boost's parser stops at depth 32; set when pushed
    std::size_t depth_ = 0;
    bool root_started_ = false;
    std::unique_ptr<std::array<std::string, 40>> key_store_;  // keys that were escaped or split (rare)
    std::string pending_;                                     // a string or key arriving in parts
    std::string number_;                                      // a number arriving in parts
    bj::value_stack raw_;
    std::array<std::size_t, 40> raw_counts_;  // set as raw levels open
    std::size_t raw_depth_ = 0;
};

template <class T>
const stream_reader::frame_ops stream_reader::ops_for_model{
    [](std::string_view key) { return field_index<T>::find(key); },
    [](stream_reader& self, void* obj, int slot, event e, const bj::value& v, std::string_view text) {
        static constexpr auto appliers =
            field_appliers<T>(std::make_index_sequence<std::tuple_size_v<decltype(fields_of<T>::get())>>{});
        return appliers[static_cast<std::size_t>(slot)](self, obj, e, v, text);
    },
    [](stream_reader& self, void*, std::uint64_t seen) {
        return detail::required_keys_present<T>(self.r, [&](std::size_t i) { return (seen >> i & 1) != 0; });
    },
    [](void* obj) { return &static_cast<T*>(obj)->extra; }, false};

template <class E>
const stream_reader::frame_ops stream_reader::ops_for_vector{
    nullptr,
    [](stream_reader& self, void* obj, int, event e, const bj::value& v, std::string_view text) {
        auto& vec = *static_cast<std::vector<E>*>(obj);
        return begin_value(self, vec.emplace_back(), e, v, text);
    },
    nullptr, nullptr, true};

template <class T>
const stream_reader::frame_ops stream_reader::ops_for_root{
    nullptr,
    [](stream_reader& self, void* obj, int, event e, const bj::value& v, std::string_view text) {
        return begin_value(self, *static_cast<T*>(obj), e, v, text);
    },
    nullptr, nullptr, true};

error_code parse_value(std::string_view text, bj::value& out, diagnostics& diag)
{
    const auto r = detail::parse_precise(text, out, detail::out_of_range_numbers::fail);
    if (r.ec) {
        diag.message = describe_parse_error(text, r.consumed, r.ec, r.out_of_range_length);
        return client_errc::invalid_json;
    }
    return {};
}

}  // namespace

template <class T>
error_code detail::parse_into(std::string_view text, T& out, diagnostics& diag)
{
    if constexpr (std::is_same_v<T, api_error_body>) {
        // Rare (error answers only) and shaped by hand: through a tree, in a stack-backed arena.
        alignas(std::max_align_t) unsigned char first_block[4096];
        bj::monotonic_resource arena(first_block, sizeof first_block);
        const bj::storage_ptr sp(&arena);
        boost::json::value v(sp);
        if (const error_code ec = parse_value(text, v, diag)) return ec;
        auto r = from_json<T>(v, diag);
        if (!r) return r.error();
        out = std::move(*r);
        return {};
    } else {
        alignas(std::max_align_t) unsigned char temp[2048];  // raw JSON members start here
        bj::basic_parser<stream_reader> p(bj::parse_options{}, out, text, temp, sizeof temp);
        bj::error_code ec;
        const std::size_t n = p.write_some(false, text.data(), text.size(), ec);
        if (!ec && n < text.size()) ec = bj::error::extra_data;
        if (ec) {
            diag.message = describe_parse_error(text, n, ec, p.handler().out_of_range_length);
            return error_code(client_errc::invalid_json);
        }
        if (p.handler().failed) {
            diag.message = std::move(p.handler().r.error);
            return error_code(client_errc::unexpected_json);
        }
        return {};
    }
}

template <class T>
boost::system::result<T> parse(std::string_view text, diagnostics& diag)
{
    T out{};
    if (const error_code ec = detail::parse_into(text, out, diag)) return ec;
    return out;
}

template <class T>
T parse(std::string_view text)
{
    diagnostics diag;
    auto r = parse<T>(text, diag);
    if (!r) throw error(r.error(), std::move(diag));
    return std::move(*r);
}

#define SMOOCH_INSTANTIATE(T)                                                                                          \
    template error_code detail::parse_into<T>(std::string_view, T&, diagnostics&);                                     \
    template boost::system::result<T> parse<T>(std::string_view, diagnostics&);                                        \
    template T parse<T>(std::string_view);
SMOOCH_FOR_EACH_MODEL(SMOOCH_INSTANTIATE)
#undef SMOOCH_INSTANTIATE

}  // namespace smooch

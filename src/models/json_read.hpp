// SPDX-License-Identifier: BSL-1.0
#pragma once
// The tree reader's parts: read() of every member type from a boost::json::value, with the JSON path kept for
// the error message. from_json() (json_read.cpp) is built on them, and the streaming reader (json_parse.cpp)
// reads each scalar with them, so both apply the same typing rules and word their errors alike.

#include "models/fields.hpp"

#include "detail/precise_json.hpp"

#include <boost/json/value.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace smooch::detail {

namespace bj = boost::json;

// Models nest only through quotedMessage and arrays; text parsed here is already capped at depth 32, but a
// caller's own boost::json::value could be arbitrarily deep, so the reader has its own cap against stack overflow.
inline constexpr int max_read_depth = 64;

class reader {
public:
    std::string error;  // set by fail(), e.g. "messages[3].received: expected number"
    int depth = 0;

    // The path is a stack of views into the tree being read (or of static key names), turned into text only
    // when something fails: a successful read does no string work for it.
    struct segment {
        std::string_view key;  // empty for an array index
        std::size_t index;
    };
    // Reads stop at max_read_depth, so the path never needs more.
    static constexpr std::size_t max_segments = static_cast<std::size_t>(2 * max_read_depth + 8);
    std::array<segment, max_segments> path{};
    std::size_t segments = 0;

    /// Pushes a segment; false (and nothing pushed) if the path is full, which reads deeper than
    /// max_read_depth cannot reach.
    bool push(segment s)
    {
        if (segments == path.size()) return false;
        path[segments++] = s;
        return true;
    }
    void pop() { --segments; }

    bool fail(std::string_view what)
    {
        error.clear();
        for (std::size_t i = 0; i < segments; ++i) {
            if (path[i].key.empty()) append_path_index(error, path[i].index);
            else append_path_key(error, path[i].key);
        }
        if (error.empty()) error = "(root)";
        error.append(": ").append(what);
        return false;
    }
};

// Pushes a path segment for the lifetime of the guard.
class path_segment {
public:
    path_segment(reader& r, std::string_view key) : r_(r), pushed_(r.push({key, 0})) {}
    path_segment(reader& r, std::size_t index) : r_(r), pushed_(r.push({{}, index})) {}
    ~path_segment()
    {
        if (pushed_) r_.pop();
    }
    path_segment(const path_segment&) = delete;
    path_segment& operator=(const path_segment&) = delete;

private:
    reader& r_;
    bool pushed_;
};

// Every overload is declared before any template uses it, so that what a template sees does not depend on
// argument-dependent lookup.
inline bool read(const bj::value& v, std::string& out, reader& r);
inline bool read(const bj::value& v, bool& out, reader& r);
inline bool read(const bj::value& v, double& out, reader& r);
inline bool read(const bj::value& v, std::int64_t& out, reader& r);
inline bool read(const bj::value& v, json_object& out, reader& r);
template <class E>
bool read(const bj::value& v, open_enum<E>& out, reader& r);
template <class T>
bool read(const bj::value& v, std::vector<T>& out, reader& r);
template <class T>
bool read(const bj::value& v, std::optional<T>& out, reader& r);
template <class T>
bool read(const bj::value& v, indirect<T>& out, reader& r);
template <model T>
bool read(const bj::value& v, T& out, reader& r);

inline bool read(const bj::value& v, std::string& out, reader& r)
{
    const bj::string* s = v.if_string();
    if (!s) return r.fail("expected string");
    out.assign(s->data(), s->size());
    return true;
}

inline bool read(const bj::value& v, bool& out, reader& r)
{
    const bool* b = v.if_bool();
    if (!b) return r.fail("expected boolean");
    out = *b;
    return true;
}

inline bool read(const bj::value& v, double& out, reader& r)
{
    switch (v.kind()) {
    case bj::kind::int64: out = static_cast<double>(v.get_int64()); return true;
    case bj::kind::uint64: out = static_cast<double>(v.get_uint64()); return true;
    case bj::kind::double_:
        // A caller-built value may hold inf/NaN (Boost's own parse() turns 1e999 into inf).
        if (!std::isfinite(v.get_double())) return r.fail("number out of range");
        out = v.get_double();
        return true;
    default: return r.fail("expected number");
    }
}

inline bool read(const bj::value& v, std::int64_t& out, reader& r)
{
    constexpr auto max = std::numeric_limits<std::int64_t>::max();
    switch (v.kind()) {
    case bj::kind::int64: out = v.get_int64(); return true;
    case bj::kind::uint64:
        if (v.get_uint64() > static_cast<std::uint64_t>(max)) return r.fail("expected integer in 64-bit range");
        out = static_cast<std::int64_t>(v.get_uint64());
        return true;
    case bj::kind::double_: {
        // 3.0 is an integer that happened to be written with a fraction or exponent; 3.5 is not.
        const double d = v.get_double();
        if (!std::isfinite(d) || std::trunc(d) != d) return r.fail("expected integer");
        // [-2^63, 2^63): both bounds are exact doubles.
        if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) return r.fail("expected integer in 64-bit range");
        out = static_cast<std::int64_t>(d);
        return true;
    }
    default: return r.fail("expected integer");
    }
}

inline bool read(const bj::value& v, json_object& out, reader& r)
{
    const bj::object* o = v.if_object();
    if (!o) return r.fail("expected object");
    out = *o;
    return true;
}

template <class E>
bool read(const bj::value& v, open_enum<E>& out, reader& r)
{
    // Open enum: any string is kept verbatim, known or not.
    const bj::string* s = v.if_string();
    if (!s) return r.fail("expected string");
    out = open_enum<E>(std::string(s->data(), s->size()));
    return true;
}

template <class T>
bool read(const bj::value& v, std::vector<T>& out, reader& r)
{
    const bj::array* a = v.if_array();
    if (!a) return r.fail("expected array");
    if (r.depth >= max_read_depth) return r.fail("nesting too deep");
    ++r.depth;
    out.clear();
    out.reserve(a->size());
    for (std::size_t i = 0; i < a->size(); ++i) {
        path_segment seg(r, i);
        T item{};
        if (!read((*a)[i], item, r)) return false;
        out.push_back(std::move(item));
    }
    --r.depth;
    return true;
}

template <class T>
bool read(const bj::value& v, std::optional<T>& out, reader& r)
{
    // null for an optional field means "absent": servers write null for unset fields.
    if (v.is_null()) {
        out.reset();
        return true;
    }
    T item{};
    if (!read(v, item, r)) return false;
    out = std::move(item);
    return true;
}

template <class T>
bool read(const bj::value& v, indirect<T>& out, reader& r)
{
    if (v.is_null()) {
        out = indirect<T>();
        return true;
    }
    T item{};
    if (!read(v, item, r)) return false;
    out = indirect<T>(std::move(item));
    return true;
}

// Plain (non-optional) members exist only in request types, where the key is required: a missing key is an
// error rather than a silently defaulted role or type. `seen(i)`: whether field i of T was present. Shared by
// the tree and the streaming reader.
template <model T, class Seen>
bool required_keys_present(reader& r, Seen&& seen)
{
    bool ok = true;
    for_each_field(fields_of<T>::get(), [&](std::size_t i, const auto& f) {
        using member_type = std::remove_cvref_t<decltype(std::declval<T&>().*(f.ptr))>;
        if (!ok || seen(i) || is_optional_member<member_type>::value) return;
        path_segment seg(r, f.key);
        ok = r.fail("required key missing");
    });
    return ok;
}

template <model T>
bool read(const bj::value& v, T& out, reader& r)
{
    const bj::object* o = v.if_object();
    if (!o) return r.fail("expected object");
    if (r.depth >= max_read_depth) return r.fail("nesting too deep");
    ++r.depth;

    constexpr auto fields = fields_of<T>::get();
    constexpr auto keys = keys_of(fields);
    std::array<bool, keys.size()> seen{};
    for (const auto& kv : *o) {
        const std::string_view key(kv.key().data(), kv.key().size());
        const int index = field_index<T>::find(key);
        if (index < 0) {
            out.extra.insert_or_assign(kv.key(), kv.value());
            continue;
        }
        const auto found = static_cast<std::size_t>(index);
        seen[found] = true;
        path_segment seg(r, key);
        bool ok = true;
        for_each_field(fields, [&](std::size_t i, const auto& f) {
            if (i == found) ok = read(kv.value(), out.*(f.ptr), r);
        });
        if (!ok) return false;
    }

    if (!required_keys_present<T>(r, [&](std::size_t i) { return seen[i]; })) return false;
    --r.depth;
    return true;
}

}  // namespace smooch::detail

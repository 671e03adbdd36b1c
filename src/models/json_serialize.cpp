// SPDX-License-Identifier: BSL-1.0
// serialize(): JSON text straight from the models, walking the same field tables as to_json() (json_write.cpp):
// no intermediate tree. Same rules: known keys in table order, absent optionals and non-finite doubles left
// out, then `extra` keys that do not collide with a written known key.

#include "models/fields.hpp"

#include "detail/json_string.hpp"

#include <smooch/json.hpp>

#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace smooch {
namespace {

namespace bj = boost::json;
using detail::fields_of;
using detail::for_each_field;
using detail::is_optional_member;
using detail::keys_of;
using detail::model;
using detail::writable;

// Strings are written as they are but for JSON's escapes; a byte that is not UTF-8 stays in the text, where
// the client's check of the body it sends finds it and names the field (validate_utf8).
void append_string(std::string& out, std::string_view s) { detail::append_json_string(out, s, detail::bad_utf8::copy); }

template <class N>
void append_number(std::string& out, N n)
{
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, n);  // shortest text that reads back as the same value
    out.append(buf, r.ptr);
    // A double must read back as a double: 94.0 is written "94.0", not "94" (an integer to a JSON reader).
    if constexpr (std::is_floating_point_v<N>)
        if (std::find_if(buf, r.ptr, [](char c) { return c == '.' || c == 'e'; }) == r.ptr) out += ".0";
}

void write_text(std::string& out, const bj::value& v);

void write_text(std::string& out, const bj::object& o)
{
    out += '{';
    bool first = true;
    for (const auto& kv : o) {
        if (!first) out += ',';
        first = false;
        append_string(out, std::string_view(kv.key().data(), kv.key().size()));
        out += ':';
        write_text(out, kv.value());
    }
    out += '}';
}

void write_text(std::string& out, const bj::value& v)
{
    switch (v.kind()) {
    case bj::kind::null: out += "null"; break;
    case bj::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case bj::kind::int64: append_number(out, v.get_int64()); break;
    case bj::kind::uint64: append_number(out, v.get_uint64()); break;
    case bj::kind::double_:
        // JSON has no spelling for inf/NaN (validate() rejects them in requests): null keeps the text valid.
        if (std::isfinite(v.get_double())) append_number(out, v.get_double());
        else out += "null";
        break;
    case bj::kind::string: append_string(out, std::string_view(v.get_string().data(), v.get_string().size())); break;
    case bj::kind::array: {
        out += '[';
        bool first = true;
        for (const auto& item : v.get_array()) {
            if (!first) out += ',';
            first = false;
            write_text(out, item);
        }
        out += ']';
        break;
    }
    case bj::kind::object: write_text(out, v.get_object()); break;
    }
}

void write_text(std::string& out, const std::string& s) { append_string(out, s); }
void write_text(std::string& out, bool b) { out += b ? "true" : "false"; }
void write_text(std::string& out, double d) { append_number(out, d); }
void write_text(std::string& out, std::int64_t i) { append_number(out, i); }
template <class E>
void write_text(std::string& out, const open_enum<E>& e)
{
    append_string(out, e.str());
}
template <class T>
void write_text(std::string& out, const std::vector<T>& v);
template <model T>
void write_text(std::string& out, const T& m);

template <class T>
void write_text(std::string& out, const std::vector<T>& v)
{
    out += '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        write_text(out, v[i]);
    }
    out += ']';
}

// Model keys are plain identifiers (checked at compile time in write_text below): no escaping pass.
void append_plain_key(std::string& out, std::string_view key)
{
    out += '"';
    out.append(key);
    out.append("\":", 2);
}

template <std::size_t N>
constexpr bool plain_keys(const std::array<std::string_view, N>& keys)
{
    for (auto k : keys)
        for (char c : k)
            if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\' || static_cast<unsigned char>(c) >= 0x80)
                return false;
    return true;
}

// Writes `"key":value` if the member is present and writable; returns whether it wrote.
template <class M>
bool write_text_member(std::string& out, bool& first, std::string_view key, const M& m)
{
    if constexpr (is_optional_member<M>::value) {
        if (!m) return false;
        return write_text_member(out, first, key, *m);
    } else {
        if (!writable(m)) return false;
        if (!first) out += ',';
        first = false;
        append_plain_key(out, key);
        write_text(out, m);
        return true;
    }
}

template <std::size_t N>
void write_text_extra(std::string& out, bool& first, const json_object& extra,
                      const std::array<std::string_view, N>& keys, const std::array<bool, N>& written)
{
    for (const auto& kv : extra) {
        const std::string_view key(kv.key().data(), kv.key().size());
        bool shadowed = false;
        for (std::size_t i = 0; i < N; ++i)
            if (written[i] && keys[i] == key) shadowed = true;
        if (shadowed) continue;  // a known key wins over an extra of that name
        if (!first) out += ',';
        first = false;
        append_string(out, key);
        out += ':';
        write_text(out, kv.value());
    }
}

template <model T>
void write_text(std::string& out, const T& m)
{
    constexpr auto fields = fields_of<T>::get();
    constexpr auto keys = keys_of(fields);
    static_assert(plain_keys(keys), "write_text_member writes model keys unescaped");
    std::array<bool, keys.size()> written{};
    bool first = true;
    out += '{';
    for_each_field(
        fields, [&](std::size_t i, const auto& f) { written[i] = write_text_member(out, first, f.key, m.*(f.ptr)); });
    write_text_extra(out, first, m.extra, keys, written);
    out += '}';
}

void write_text(std::string& out, const api_error_body& b)
{
    static constexpr std::array<std::string_view, 2> inner_keys{"code", "description"};
    static constexpr std::array<std::string_view, 1> outer_keys{"error"};
    out += "{\"error\":{";
    bool first = true;
    const std::array<bool, 2> written{write_text_member(out, first, "code", b.code),
                                      write_text_member(out, first, "description", b.description)};
    write_text_extra(out, first, b.extra, inner_keys, written);
    out += '}';
    first = false;
    write_text_extra(out, first, b.outer_extra, outer_keys, std::array<bool, 1>{true});
    out += '}';
}

}  // namespace

template <class T>
std::string serialize(const T& v)
{
    std::string out;
    out.reserve(256);
    write_text(out, v);
    return out;
}

#define SMOOCH_INSTANTIATE(T) template std::string serialize<T>(const T&);
SMOOCH_FOR_EACH_MODEL(SMOOCH_INSTANTIATE)
#undef SMOOCH_INSTANTIATE

}  // namespace smooch

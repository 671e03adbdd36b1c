// Boost.JSON conversions of every model (see <smooch/json.hpp>).
//
// Each model lists its JSON keys once, in a field table (fields_of<T>); both directions walk that table, so a key
// can never be read under one name and written under another. Readers track the JSON path for diagnostics.

#include "models/json_internal.hpp"

#include "detail/precise_json.hpp"
#include "detail/utf8.hpp"

#include <boost/json/monotonic_resource.hpp>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_stack.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace smooch {
namespace {

namespace bj = boost::json;

// ------------------------------------------------------------------------------------------- field tables

template <class T, class M>
struct member {
    std::string_view key;
    M T::*ptr;
};

template <class T, class M>
constexpr member<T, M> mem(std::string_view key, M T::*ptr)
{
    return {key, ptr};
}

template <class T>
struct fields_of;

#define SMOOCH_FIELDS(T, ...)                                                        \
    template <>                                                                      \
    struct fields_of<T> {                                                            \
        using type = T;                                                              \
        static constexpr auto get() { return std::make_tuple(__VA_ARGS__); }         \
    }
#define F(key, m) mem(key, &type::m)

SMOOCH_FIELDS(conversation_activity, F("role", role), F("type", type), F("name", name), F("avatarUrl", avatar_url));
SMOOCH_FIELDS(action, F("type", type), F("text", text), F("payload", payload), F("metadata", metadata),
              F("amount", amount), F("currency", currency), F("default", is_default), F("iconUrl", icon_url),
              F("uri", uri), F("fallback", fallback), F("size", size),
              F("extraChannelOptions", extra_channel_options), F("openOnReceive", open_on_receive),
              F("_id", id), F("state", state));
SMOOCH_FIELDS(message_item, F("title", title), F("description", description), F("mediaUrl", media_url),
              F("altText", alt_text), F("size", size), F("mediaType", media_type), F("actions", actions),
              F("_id", id));
SMOOCH_FIELDS(display_settings, F("imageAspectRatio", image_aspect_ratio));
SMOOCH_FIELDS(destination, F("integrationId", integration_id), F("integrationType", integration_type));
SMOOCH_FIELDS(coordinates, F("lat", lat), F("long", long_), F("_id", id));
SMOOCH_FIELDS(location, F("address", address), F("name", name));
SMOOCH_FIELDS(option, F("name", name), F("label", label));
SMOOCH_FIELDS(field_post, F("type", type), F("name", name), F("label", label), F("placeholder", placeholder),
              F("minSize", min_size), F("maxSize", max_size), F("options", options));
SMOOCH_FIELDS(select_choice, F("_id", id), F("name", name), F("label", label));
SMOOCH_FIELDS(field, F("_id", id), F("type", type), F("name", name), F("label", label),
              F("placeholder", placeholder), F("minSize", min_size), F("maxSize", max_size), F("options", options),
              F("selectSize", select_size), F("text", text), F("email", email), F("select", select));
SMOOCH_FIELDS(message_post, F("role", role), F("type", type), F("name", name), F("email", email),
              F("avatarUrl", avatar_url), F("metadata", metadata), F("payload", payload), F("text", text),
              F("mediaUrl", media_url), F("mediaType", media_type), F("altText", alt_text), F("items", items),
              F("actions", actions), F("blockChatInput", block_chat_input), F("displaySettings", display_settings),
              F("fields", fields), F("destination", destination), F("override", override_),
              F("coordinates", coordinates), F("location", location));
SMOOCH_FIELDS(source, F("id", id), F("type", type), F("originalMessageId", original_message_id),
              F("originalMessageTimestamp", original_message_timestamp));
SMOOCH_FIELDS(quoted_message, F("type", type), F("externalMessageId", external_message_id), F("content", content));
SMOOCH_FIELDS(message, F("_id", id), F("authorId", author_id), F("role", role), F("type", type),
              F("source", source), F("name", name), F("text", text), F("email", email), F("avatarUrl", avatar_url),
              F("received", received), F("mediaUrl", media_url), F("mediaType", media_type),
              F("altText", alt_text), F("metadata", metadata), F("items", items), F("actions", actions),
              F("payload", payload), F("displaySettings", display_settings), F("blockChatInput", block_chat_input),
              F("fields", fields), F("submitted", submitted), F("quotedMessage", quoted_message),
              F("textFallback", text_fallback), F("coordinates", coordinates), F("location", location));
SMOOCH_FIELDS(conversation, F("_id", id), F("unreadCount", unread_count));
SMOOCH_FIELDS(message_response, F("message", message), F("extraMessages", extra_messages),
              F("conversation", conversation));
SMOOCH_FIELDS(get_messages_response, F("conversation", conversation), F("messages", messages), F("next", next),
              F("previous", previous));
SMOOCH_FIELDS(activity_response, F("conversation", conversation));
#undef F
#undef SMOOCH_FIELDS

template <class T>
concept model = requires { fields_of<T>::get(); };

template <class Tuple, class Fn, std::size_t... I>
void for_each_field_impl(const Tuple& t, Fn&& fn, std::index_sequence<I...>)
{
    (fn(I, std::get<I>(t)), ...);
}

template <class Tuple, class Fn>
void for_each_field(const Tuple& t, Fn&& fn)
{
    for_each_field_impl(t, fn, std::make_index_sequence<std::tuple_size_v<Tuple>>{});
}

template <class Tuple, std::size_t... I>
constexpr auto keys_of_impl(const Tuple& t, std::index_sequence<I...>)
{
    return std::array<std::string_view, sizeof...(I)>{std::string_view(std::get<I>(t).key)...};
}

template <class Tuple>
constexpr auto keys_of(const Tuple& t)
{
    return keys_of_impl(t, std::make_index_sequence<std::tuple_size_v<Tuple>>{});
}

// Finds a model's field by key in O(1): an open-addressing table built at compile time from the field table.
template <class T>
class field_index {
public:
    static constexpr auto keys = keys_of(fields_of<T>::get());
    static_assert(keys.size() < 64, "a model with 64 or more fields needs a larger table");

    /// The field's position in fields_of<T>, or -1 for a key the model does not know.
    static int find(std::string_view key) noexcept
    {
        for (std::size_t h = hash(key);; h = (h + 1) & mask) {
            const int i = table.slots[h];
            if (i < 0 || keys[static_cast<std::size_t>(i)] == key) return i;
        }
    }

private:
    static constexpr std::size_t size = 128, mask = size - 1;
    static constexpr std::size_t hash(std::string_view k) noexcept
    {
        std::size_t h = k.size() * 0x9E37u;
        for (char c : k) h = (h ^ static_cast<unsigned char>(c)) * 0x01000193u;
        return (h ^ (h >> 7)) & mask;
    }
    struct slots_t {
        std::array<int, size> slots;
    };
    static constexpr slots_t build()
    {
        slots_t t{};
        for (auto& s : t.slots) s = -1;
        for (std::size_t i = 0; i < keys.size(); ++i) {
            std::size_t h = hash(keys[i]);
            while (t.slots[h] >= 0) h = (h + 1) & mask;
            t.slots[h] = static_cast<int>(i);
        }
        return t;
    }
    static constexpr slots_t table = build();
};

template <class M>
struct is_optional_member : std::false_type {};
template <class M>
struct is_optional_member<std::optional<M>> : std::true_type {};
template <class M>
struct is_optional_member<indirect<M>> : std::true_type {};

// ------------------------------------------------------------------------------------------------ reading

// Models nest only through quotedMessage and arrays; text parsed here is already capped at depth 32, but a
// caller's own boost::json::value could be arbitrarily deep, so the reader has its own cap against stack overflow.
constexpr int max_read_depth = 64;

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
            if (path[i].key.empty()) {
                error.append("[").append(std::to_string(path[i].index)).append("]");
            } else {
                if (!error.empty()) error += '.';
                error.append(path[i].key);
            }
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

// Every overload is declared before any template uses it: these live in an unnamed namespace, which
// argument-dependent lookup does not search, so the order of declaration decides what a template sees.
bool read(const bj::value& v, std::string& out, reader& r);
bool read(const bj::value& v, bool& out, reader& r);
bool read(const bj::value& v, double& out, reader& r);
bool read(const bj::value& v, std::int64_t& out, reader& r);
bool read(const bj::value& v, json_object& out, reader& r);
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

bool read(const bj::value& v, std::string& out, reader& r)
{
    const bj::string* s = v.if_string();
    if (!s) return r.fail("expected string");
    out.assign(s->data(), s->size());
    return true;
}

bool read(const bj::value& v, bool& out, reader& r)
{
    const bool* b = v.if_bool();
    if (!b) return r.fail("expected boolean");
    out = *b;
    return true;
}

bool read(const bj::value& v, double& out, reader& r)
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

bool read(const bj::value& v, std::int64_t& out, reader& r)
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
        if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
            return r.fail("expected integer in 64-bit range");
        out = static_cast<std::int64_t>(d);
        return true;
    }
    default: return r.fail("expected integer");
    }
}

bool read(const bj::value& v, json_object& out, reader& r)
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

    // Plain (non-optional) members exist only in request types, where the key is required: a missing key is
    // an error rather than a silently defaulted role or type.
    bool ok = true;
    for_each_field(fields, [&](std::size_t i, const auto& f) {
        using member_type = std::remove_cvref_t<decltype(out.*(f.ptr))>;
        if (!ok || seen[i] || is_optional_member<member_type>::value) return;
        path_segment seg(r, f.key);
        ok = r.fail("required key missing");
    });
    if (!ok) return false;
    --r.depth;
    return true;
}

bool read_error_body(const bj::value& v, api_error_body& out, reader& r)
{
    const bj::object* o = v.if_object();
    if (!o) return r.fail("expected object");
    for (const auto& kv : *o) {
        if (kv.key() != "error") {
            out.outer_extra.insert_or_assign(kv.key(), kv.value());
            continue;
        }
        if (kv.value().is_null()) continue;
        path_segment seg(r, "error");
        const bj::object* e = kv.value().if_object();
        if (!e) return r.fail("expected object");
        for (const auto& ekv : *e) {
            if (ekv.key() == "code" || ekv.key() == "description") {
                auto& slot = ekv.key() == "code" ? out.code : out.description;
                path_segment inner(r, std::string_view(ekv.key().data(), ekv.key().size()));
                if (!read(ekv.value(), slot, r)) return false;
            } else {
                out.extra.insert_or_assign(ekv.key(), ekv.value());
            }
        }
    }
    return true;
}

template <class T>
bool read_root(const bj::value& v, T& out, reader& r)
{
    if constexpr (std::is_same_v<T, api_error_body>)
        return read_error_body(v, out, r);
    else
        return read(v, out, r);
}

// ------------------------------------------------------------------------------------------------ writing

void write(bj::value& out, const std::string& s) { out.emplace_string().assign(s); }
void write(bj::value& out, bool b) { out = b; }
void write(bj::value& out, double d) { out = d; }
void write(bj::value& out, std::int64_t i) { out = i; }
void write(bj::value& out, const json_object& o) { out.emplace_object() = o; }
template <class E>
void write(bj::value& out, const open_enum<E>& e);
template <class T>
void write(bj::value& out, const std::vector<T>& v);
template <model T>
void write(bj::value& out, const T& m);

template <class E>
void write(bj::value& out, const open_enum<E>& e)
{
    out.emplace_string().assign(e.str());
}

template <class T>
void write(bj::value& out, const std::vector<T>& v)
{
    bj::array& a = out.emplace_array();
    a.reserve(v.size());
    for (const auto& item : v) write(a.emplace_back(nullptr), item);
}

// A non-finite double has no JSON spelling: its key is left out rather than writing invalid JSON.
template <class M>
bool writable(const M&)
{
    return true;
}
bool writable(double d) { return std::isfinite(d); }

template <class M>
void write_member(bj::object& o, std::string_view key, const M& m)
{
    if (writable(m)) write(o[key], m);
}

template <class M>
void write_member(bj::object& o, std::string_view key, const std::optional<M>& m)
{
    if (m && writable(*m)) write(o[key], *m);
}

template <class M>
void write_member(bj::object& o, std::string_view key, const indirect<M>& m)
{
    if (m) write(o[key], *m);
}

// Known keys first, then `extra`; emplace() never overwrites, so a known key wins over an extra of that name.
void write_extra(bj::object& o, const json_object& extra)
{
    for (const auto& kv : extra) o.emplace(kv.key(), kv.value());
}

template <model T>
void write(bj::value& out, const T& m)
{
    bj::object& o = out.emplace_object();
    for_each_field(fields_of<T>::get(), [&](std::size_t, const auto& f) { write_member(o, f.key, m.*(f.ptr)); });
    write_extra(o, m.extra);
}

void write(bj::value& out, const api_error_body& b)
{
    bj::object& o = out.emplace_object();
    bj::object& e = o["error"].emplace_object();
    write_member(e, "code", b.code);
    write_member(e, "description", b.description);
    write_extra(e, b.extra);
    write_extra(o, b.outer_extra);
}

// ------------------------------------------------------------------------------------------ writing text
// serialize() writes JSON text straight from the models, walking the same field tables as write(): no
// intermediate tree. Same rules: known keys in table order, absent optionals and non-finite doubles left
// out, then `extra` keys that do not collide with a written known key.

void append_escaped(std::string& out, std::string_view s)
{
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t run = 0;  // start of the pending run of bytes that need no escape
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 0xF];
        }
    }
    out.append(s.data() + run, s.size() - run);
    out += '"';
}

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
        append_escaped(out, std::string_view(kv.key().data(), kv.key().size()));
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
    case bj::kind::string: append_escaped(out, std::string_view(v.get_string().data(), v.get_string().size())); break;
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

void write_text(std::string& out, const std::string& s) { append_escaped(out, s); }
void write_text(std::string& out, bool b) { out += b ? "true" : "false"; }
void write_text(std::string& out, double d) { append_number(out, d); }
void write_text(std::string& out, std::int64_t i) { append_number(out, i); }
template <class E>
void write_text(std::string& out, const open_enum<E>& e)
{
    append_escaped(out, e.str());
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
        append_escaped(out, key);
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
    for_each_field(fields, [&](std::size_t i, const auto& f) {
        written[i] = write_text_member(out, first, f.key, m.*(f.ptr));
    });
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

// ------------------------------------------------------------------------------------------------ parsing

// Re-reads the full text of a non-integer number with std::from_chars (correctly rounded, unlike Boost.JSON
// 1.81's fast path). An underflow becomes zero. A number beyond the double range fails with exponent_overflow,
// or with keep_infinity becomes ±infinity and sets `out_of_range`.
bool precise_double(std::string& number, double d, double& out, std::size_t& out_of_range_length, bj::error_code& ec,
                    detail::out_of_range_numbers policy = detail::out_of_range_numbers::fail,
                    bool* out_of_range = nullptr)
{
    double x = d;
    const auto res = std::from_chars(number.data(), number.data() + number.size(), x);
    if (res.ec == std::errc::result_out_of_range) {
        if (std::isinf(d) || std::fabs(d) >= 1.0) {
            if (policy == detail::out_of_range_numbers::keep_infinity) {
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

// Builds the same value as boost::json::parser, with numbers read by precise_double (see precise_json.hpp).
struct precise_handler {
    static constexpr std::size_t max_object_size = bj::object::max_size();
    static constexpr std::size_t max_array_size = bj::array::max_size();
    static constexpr std::size_t max_key_size = bj::string::max_size();
    static constexpr std::size_t max_string_size = bj::string::max_size();

    // The stack of values under construction starts in the caller's buffer: small documents need no heap.
    precise_handler(unsigned char* temp, std::size_t size) : st(bj::storage_ptr(), temp, size) {}

    bj::value_stack st;
    std::string number;                  // the text of a number split across buffers
    std::size_t out_of_range_length = 0; // length of a number beyond the double range, 0 if none
    detail::out_of_range_numbers policy = detail::out_of_range_numbers::fail;
    bool out_of_range = false;           // with keep_infinity: some number became ±infinity

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

// ------------------------------------------------------------------------------------------- streaming read
// parse<T>() reads text straight into the model: the parser's events fill members as they arrive, with no
// intermediate tree. The typing rules and error texts are the tree reader's (scalars go through read()), and a
// type error is reported only once the whole text has proved to be valid JSON, as the tree reader does.

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

    reader r;                          // the path, and the first type error
    bool failed = false;               // a type error was found: keep checking syntax, build nothing more
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
        if (!precise_double(number_, d, x, out_of_range_length, ec)) return false;
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
            f.ops->extra(f.obj)->insert_or_assign(f.key, e == event::string ? bj::value(bj::string_view(text))
                                                                             : bj::value(v));
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
    std::array<frame, 40> frames_;                        // Boost's parser stops at depth 32; set when pushed
    std::size_t depth_ = 0;
    bool root_started_ = false;
    std::unique_ptr<std::array<std::string, 40>> key_store_;  // keys that were escaped or split (rare)
    std::string pending_;                                 // a string or key arriving in parts
    std::string number_;                                  // a number arriving in parts
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
    [](stream_reader& self, void* obj, std::uint64_t seen) {
        bool ok = true;
        for_each_field(fields_of<T>::get(), [&](std::size_t i, const auto& f) {
            using member_type = std::remove_cvref_t<decltype(static_cast<T*>(obj)->*(f.ptr))>;
            if (!ok || (seen >> i & 1) || is_optional_member<member_type>::value) return;
            path_segment seg(self.r, f.key);
            ok = self.r.fail("required key missing");
        });
        return ok;
    },
    [](void* obj) { return &static_cast<T*>(obj)->extra; },
    false};

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

} // namespace

namespace detail {

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

} // namespace detail

// ------------------------------------------------------------------------------------------ public surface

#define SMOOCH_JSON_MODEL(T)                                  \
    boost::json::value to_json(const T& v)                    \
    {                                                         \
        boost::json::value out;                               \
        write(out, v);                                        \
        return out;                                           \
    }                                                         \
    void to_json(const T& v, boost::json::value& out) { write(out, v); }

SMOOCH_JSON_MODEL(conversation_activity)
SMOOCH_JSON_MODEL(action)
SMOOCH_JSON_MODEL(message_item)
SMOOCH_JSON_MODEL(display_settings)
SMOOCH_JSON_MODEL(destination)
SMOOCH_JSON_MODEL(coordinates)
SMOOCH_JSON_MODEL(location)
SMOOCH_JSON_MODEL(option)
SMOOCH_JSON_MODEL(field_post)
SMOOCH_JSON_MODEL(select_choice)
SMOOCH_JSON_MODEL(field)
SMOOCH_JSON_MODEL(message_post)
SMOOCH_JSON_MODEL(source)
SMOOCH_JSON_MODEL(quoted_message)
SMOOCH_JSON_MODEL(message)
SMOOCH_JSON_MODEL(conversation)
SMOOCH_JSON_MODEL(message_response)
SMOOCH_JSON_MODEL(get_messages_response)
SMOOCH_JSON_MODEL(activity_response)
SMOOCH_JSON_MODEL(api_error_body)
#undef SMOOCH_JSON_MODEL

template <class T>
boost::system::result<T> from_json(const boost::json::value& v, diagnostics& diag)
{
    reader r;
    T out{};
    if (!read_root(v, out, r)) {
        diag.message = std::move(r.error);
        return error_code(client_errc::unexpected_json);
    }
    return out;
}

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

template <class T>
std::string serialize(const T& v)
{
    std::string out;
    out.reserve(256);
    write_text(out, v);
    return out;
}

#define SMOOCH_INSTANTIATE(T)                                                                    \
    template boost::system::result<T> from_json<T>(const boost::json::value&, diagnostics&);    \
    template boost::system::result<T> parse<T>(std::string_view, diagnostics&);                 \
    template error_code detail::parse_into<T>(std::string_view, T&, diagnostics&);              \
    template T parse<T>(std::string_view);                                                       \
    template std::string serialize<T>(const T&)

SMOOCH_INSTANTIATE(conversation_activity);
SMOOCH_INSTANTIATE(action);
SMOOCH_INSTANTIATE(message_item);
SMOOCH_INSTANTIATE(display_settings);
SMOOCH_INSTANTIATE(destination);
SMOOCH_INSTANTIATE(coordinates);
SMOOCH_INSTANTIATE(location);
SMOOCH_INSTANTIATE(option);
SMOOCH_INSTANTIATE(field_post);
SMOOCH_INSTANTIATE(select_choice);
SMOOCH_INSTANTIATE(field);
SMOOCH_INSTANTIATE(message_post);
SMOOCH_INSTANTIATE(source);
SMOOCH_INSTANTIATE(quoted_message);
SMOOCH_INSTANTIATE(message);
SMOOCH_INSTANTIATE(conversation);
SMOOCH_INSTANTIATE(message_response);
SMOOCH_INSTANTIATE(get_messages_response);
SMOOCH_INSTANTIATE(activity_response);
SMOOCH_INSTANTIATE(api_error_body);
#undef SMOOCH_INSTANTIATE

} // namespace smooch

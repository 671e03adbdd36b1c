// SPDX-License-Identifier: BSL-1.0
// to_json(): a model to a boost::json::value, walking the field tables. Known keys in table order, absent
// optionals and non-finite doubles left out, then `extra` keys that do not collide with a known key.

#include "models/fields.hpp"

#include <smooch/json.hpp>

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smooch {
namespace {

namespace bj = boost::json;
using detail::fields_of;
using detail::for_each_field;
using detail::model;
using detail::writable;

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

}  // namespace

#define SMOOCH_TO_JSON(T)                                                                                              \
    boost::json::value to_json(const T& v)                                                                             \
    {                                                                                                                  \
        boost::json::value out;                                                                                        \
        write(out, v);                                                                                                 \
        return out;                                                                                                    \
    }                                                                                                                  \
    void to_json(const T& v, boost::json::value& out) { write(out, v); }
SMOOCH_FOR_EACH_MODEL(SMOOCH_TO_JSON)
#undef SMOOCH_TO_JSON

}  // namespace smooch

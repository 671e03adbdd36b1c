// SPDX-License-Identifier: BSL-1.0
// from_json(): a boost::json::value to a model, by the tree reader of json_read.hpp.

#include "models/json_read.hpp"

#include <smooch/json.hpp>

#include <string_view>
#include <type_traits>
#include <utility>

namespace smooch {
namespace {

using detail::path_segment;
using detail::reader;
namespace bj = boost::json;

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
                if (!detail::read(ekv.value(), slot, r)) return false;
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
    if constexpr (std::is_same_v<T, api_error_body>) return read_error_body(v, out, r);
    else return detail::read(v, out, r);
}

}  // namespace

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

#define SMOOCH_INSTANTIATE(T) template boost::system::result<T> from_json<T>(const boost::json::value&, diagnostics&);
SMOOCH_FOR_EACH_MODEL(SMOOCH_INSTANTIATE)
#undef SMOOCH_INSTANTIATE

}  // namespace smooch

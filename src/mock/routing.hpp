// SPDX-License-Identifier: BSL-1.0
#pragma once
// What the engine decides before a request's body matters: the route, who is calling (401/403) and the
// per-app rate limit (429). docs/mock.md "Routes", "Authentication and authorization", "Rate limit".

#include "mock/engine_state.hpp"

#include <optional>
#include <string_view>

namespace smooch::mock::detail {

/// Fills `rt` from a raw path (no query). Splits on '/' before decoding each segment, so an encoded '/' stays
/// inside its segment. False on a bad percent escape in an id; an unknown path leaves rt.operation unknown.
bool parse_route(std::string_view method, std::string_view path, route& rt);

/// Authenticates and authorizes ctx.req for ctx.rt; nullopt after filling the 401/403 response.
std::optional<principal> authenticate(context& ctx);

/// Takes a token from the app's bucket at the request's arrival; false after filling the 429 response.
bool take_token(context& ctx);

}  // namespace smooch::mock::detail

// SPDX-License-Identifier: BSL-1.0
#pragma once
// /_admin/*: the record, fault rules, reset, rate limit and connection settings at run time (docs/mock.md
// "Admin endpoint"). Not authenticated, recorded, faulted nor rate limited.

#include "mock/engine_state.hpp"

#include <string_view>

namespace smooch::mock::detail {

/// Answers an admin request (`path` without its query). Takes the state's mutex itself, through `e`.
void handle_admin(engine& e, engine_state& s, const http_request& req, std::string_view path, http_response& out);

}  // namespace smooch::mock::detail

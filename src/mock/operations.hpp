// SPDX-License-Identifier: BSL-1.0
#pragma once
// The six operations on the conversation state, called once the request is routed, authorized, within the
// rate limit and its body valid. Each fills ctx.out and returns true if it succeeded (the state changed for
// writes). docs/mock.md "State rules" and "get_messages pagination".

#include "mock/engine_state.hpp"

#include <boost/json/fwd.hpp>

namespace smooch::mock::detail {

bool post_message(context& ctx, const boost::json::object& body);
bool get_messages(context& ctx);
bool delete_message(context& ctx);
bool delete_messages(context& ctx);
bool reset_unread(context& ctx);
bool activity(context& ctx);

}  // namespace smooch::mock::detail

// SPDX-License-Identifier: BSL-1.0
#pragma once
// One API call, owned and ready to run: what every operation builds from its arguments (path, query, validated
// body) before anything is sent, and the coroutine that runs it through the pipeline and reads its result.

#include <smooch/conversation_api.hpp>

#include "client/client_impl.hpp"
#include "pipeline/retry_state.hpp"
#include "transport/transport.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace smooch::detail {

struct call {
    std::shared_ptr<client_impl> impl;  // kept alive by the call: the client may go away meanwhile
    std::string app_id;
    outgoing_request request;
    call_semantics what;  // idempotent unless post_message
    call_options opts;
    error_code ec;     // set when the arguments failed validation: nothing will be sent
    diagnostics diag;  // the operation's name, and the validation failure if any
    // walk_history only
    std::string user_id;
    walk_direction direction = walk_direction::oldest_first;
    std::function<void(const message&)> on_message;
};

call make_activity(std::shared_ptr<client_impl> impl, std::string_view app, std::string_view user,
                   const conversation_activity& body, const call_options& opts);
call make_delete_message(std::shared_ptr<client_impl> impl, std::string_view app, std::string_view user,
                         std::string_view message_id, const call_options& opts);
call make_delete_messages(std::shared_ptr<client_impl> impl, std::string_view app, std::string_view user,
                          const call_options& opts);
call make_get_messages(std::shared_ptr<client_impl> impl, std::string_view app, std::string_view user,
                       const get_messages_query& query, const call_options& opts);
call make_post_message(std::shared_ptr<client_impl> impl, std::string_view app, std::string_view user,
                       const message_post& body, const call_options& opts);
call make_post_message(std::shared_ptr<client_impl> impl, std::string_view app, std::string_view user,
                       const prepared_message_post& body, const call_options& opts);
call make_reset_unread_count(std::shared_ptr<client_impl> impl, std::string_view app, std::string_view user,
                             const call_options& opts);
call make_walk(std::shared_ptr<client_impl> impl, std::string_view app, std::string_view user, walk_direction d,
               std::function<void(const message&)> on_message, const call_options& opts);

/// Runs `c`: on success fills `out` (activity_response, done, get_messages_response, message_response; for a
/// walk, std::size_t: the messages visited), on failure returns the error. `diag` receives the call's
/// diagnostics either way. Counts the call succeeded or failed exactly once.
template <class T>
boost::asio::awaitable<error_code> perform(call& c, T& out, diagnostics& diag);

/// walk_history's loop (history_walk.cpp): pages of get_messages; `visited` counts as it goes.
boost::asio::awaitable<error_code> walk(call& c, std::size_t& visited, diagnostics& diag);

}  // namespace smooch::detail

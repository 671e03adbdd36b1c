// SPDX-License-Identifier: BSL-1.0
#pragma once
// Every call the dispatcher makes to smooch::client, in one place: when the try_ forms give way to completion-token
// operations with a diagnostics& out-parameter, this file is the only one that changes.

#include <smooch/conversation_api.hpp>

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smooch::dispatch::detail {

/// What a post_message call said, reduced to what the decisions need.
struct post_result {
    error_code ec;                          ///< Empty: the server answered 2xx with a body that parsed.
    bool outcome_unknown = false;           ///< diagnostics::outcome_unknown
    unsigned status = 0;                    ///< The last HTTP status, 0 if none.
    std::string api_code, api_description;  ///< The API's error body.
    std::string description;                ///< describe(ec, diag): for the journal and the operator.
    std::optional<std::string> message_id;  ///< The stored message's `_id` (success only).
};

/// One message of a page read back: only what reconciliation looks at.
struct seen_message {
    std::string id;
    double received = 0;
    std::optional<std::string> key;  ///< metadata[key_field], when it is a string.
};

struct page_result {
    error_code ec;
    unsigned status = 0;
    std::string description;
    std::vector<seen_message> messages;  ///< Ascending by `received`.
    bool has_next = false;
};

boost::asio::awaitable<post_result> post_message(conversation_api& api, std::string_view app, std::string_view user,
                                                 const prepared_message_post& body);
/// get_messages with `after` = cursor (exclusive).
boost::asio::awaitable<page_result> read_page_after(conversation_api& api, std::string_view app, std::string_view user,
                                                    std::string cursor);

}  // namespace smooch::dispatch::detail

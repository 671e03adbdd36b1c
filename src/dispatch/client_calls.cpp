// SPDX-License-Identifier: BSL-1.0
#include "dispatch/client_calls.hpp"

#include <smooch/dispatch.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace smooch::dispatch::detail {

boost::asio::awaitable<post_result> post_message(conversation_api& api, std::string_view app, std::string_view user,
                                                 const prepared_message_post& body)
{
    diagnostics diag;
    auto [ec, posted] =
        co_await api.async_post_message(app, user, body, diag, boost::asio::as_tuple(boost::asio::use_awaitable));
    post_result r;
    r.ec = ec;
    r.outcome_unknown = diag.outcome_unknown;
    r.status = diag.status;
    r.api_code = std::move(diag.api_code);
    r.api_description = std::move(diag.api_description);
    if (ec) r.description = describe(ec, diag);
    else if (posted.message && posted.message->id) r.message_id = *posted.message->id;
    co_return r;
}

boost::asio::awaitable<page_result> read_page_after(conversation_api& api, std::string_view app, std::string_view user,
                                                    std::string cursor)
{
    get_messages_query q;
    q.after = std::move(cursor);
    diagnostics diag;
    auto [ec, page] =
        co_await api.async_get_messages(app, user, q, diag, boost::asio::as_tuple(boost::asio::use_awaitable));
    page_result r;
    r.ec = ec;
    r.status = diag.status;
    if (ec) {
        r.description = describe(ec, diag);
        co_return r;
    }
    r.has_next = page.has_next();
    if (page.messages) {
        r.messages.reserve(page.messages->size());
        for (auto& m : *page.messages) {
            seen_message s;
            s.id = m.id.value_or("");
            s.received = m.received.value_or(0);
            if (m.metadata)
                if (const auto* k = m.metadata->if_contains(key_field); k && k->is_string())
                    s.key = std::string(k->get_string());
            r.messages.push_back(std::move(s));
        }
    }
    co_return r;
}

}  // namespace smooch::dispatch::detail

#include "dispatch/client_calls.hpp"

#include <smooch/dispatch.hpp>

namespace smooch::dispatch::detail {

boost::asio::awaitable<post_result> post_message(conversation_api& api, std::string_view app, std::string_view user,
                                                 const message_post& body)
{
    auto o = co_await api.try_post_message(app, user, body);
    post_result r;
    r.ec = o.ec;
    r.outcome_unknown = o.diag.outcome_unknown;
    r.status = o.diag.status;
    r.api_code = std::move(o.diag.api_code);
    r.api_description = std::move(o.diag.api_description);
    if (o.ec) r.description = describe(o.ec, o.diag);
    else if (o.value && o.value->message && o.value->message->id) r.message_id = *o.value->message->id;
    co_return r;
}

boost::asio::awaitable<page_result> read_page_after(conversation_api& api, std::string_view app, std::string_view user,
                                                    std::string cursor)
{
    get_messages_query q;
    q.after = std::move(cursor);
    auto o = co_await api.try_get_messages(app, user, q);
    page_result r;
    r.ec = o.ec;
    r.status = o.diag.status;
    if (o.ec) {
        r.description = describe(o.ec, o.diag);
        co_return r;
    }
    r.has_next = o.value->has_next();
    if (o.value->messages) {
        r.messages.reserve(o.value->messages->size());
        for (auto& m : *o.value->messages) {
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

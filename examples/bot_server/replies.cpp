// SPDX-License-Identifier: BSL-1.0
// replier (replies.hpp): typing indicator, reply, typing indicator, each call's failure logged and counted.

#include "replies.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <iostream>

namespace bot {

namespace asio = boost::asio;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

void replier::reply(std::string app_id, std::string user_id, std::string text)
{
    ++in_flight_;
    asio::co_spawn(api_.get_executor(), run(std::move(app_id), std::move(user_id), std::move(text)),
                   [this](std::exception_ptr) { finished(); });
}

void replier::when_idle(std::function<void()> then)
{
    if (in_flight_ == 0) return then();
    on_idle_ = std::move(then);
}

void replier::finished()
{
    if (--in_flight_ == 0 && on_idle_) std::exchange(on_idle_, nullptr)();
}

asio::awaitable<void> replier::run(std::string app_id, std::string user_id, std::string text)
{
    // Each call has its own deadline, so shutting down waits for at most this long per call.
    smooch::call_options opts;
    opts.total_timeout = std::chrono::seconds(30);
    smooch::diagnostics diag;
    smooch::conversation_activity typing;  // role appMaker
    typing.type = smooch::activity_type::typing_start;
    typing.name = "Example Bot";
    // A failed typing indicator is worth a log line, not the reply.
    if (auto [ec, r] = co_await api_.async_conversation_activity(app_id, user_id, typing, diag, opts, tuple_awaitable);
        ec)
        std::cerr << "typing:start: " << smooch::describe(ec, diag) << "\n";

    smooch::message_post msg;  // role appMaker, type text
    msg.text = "You said: " + text;
    msg.name = "Example Bot";
    diag.clear();
    auto [ec, posted] = co_await api_.async_post_message(app_id, user_id, msg, diag, opts, tuple_awaitable);
    if (ec) {
        ++counters_.failed;
        std::cerr << "reply: " << smooch::describe(ec, diag) << "\n";
    } else {
        ++counters_.sent;
    }

    typing.type = smooch::activity_type::typing_stop;
    diag.clear();
    if (auto [sec, r] = co_await api_.async_conversation_activity(app_id, user_id, typing, diag, opts, tuple_awaitable);
        sec)
        std::cerr << "typing:stop: " << smooch::describe(sec, diag) << "\n";
}

}  // namespace bot

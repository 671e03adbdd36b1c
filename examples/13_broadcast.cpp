// SPDX-License-Identifier: BSL-1.0
// Lesson 13: one body to many users. prepared_message_post validates and serializes it once; each post sends
// that text as it is. The posts run concurrently (the client's pool spreads them over its connections), and
// every failure is reported with its user: none is lost.
#include "example_env.hpp"

#include <smooch/conversation_api.hpp>
#include <smooch/validate.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>
#include <stdexcept>
#include <string>

namespace asio = boost::asio;

asio::awaitable<void> run(smooch::client& client)
{
    smooch::message_post msg;
    msg.role = smooch::role::app_maker;
    msg.type = smooch::message_type::text;
    msg.text = "Our store opens at 9 tomorrow";
    smooch::diagnostics diag;
    const auto body = smooch::prepared_message_post::prepare(msg, diag);
    if (!body) throw std::runtime_error("the message is not valid: " + diag.message);

    smooch::conversation_api api{client};
    constexpr int users = 20;
    int finished = 0, delivered = 0;
    // Wakes this coroutine when the last post has finished (cancelled to notify).
    asio::steady_timer all_done(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
    for (int i = 0; i < users; ++i) {
        asio::co_spawn(
            all_done.get_executor(),
            [&, user = "broadcast-" + std::to_string(i)]() -> asio::awaitable<void> {
                smooch::diagnostics d;  // per call: it must live until the call ends
                auto [ec, r] = co_await api.async_post_message(example::app_id(), user, *body, d,
                                                               asio::as_tuple(asio::use_awaitable));
                if (ec) std::cerr << user << ": " << smooch::describe(ec, d) << "\n";
                else ++delivered;
                if (++finished == users) all_done.cancel();
            },
            asio::detached);
    }
    if (finished < users) co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
    std::cout << "broadcast " << body->json().size() << " bytes to " << delivered << " of " << users << " users\n";
    if (delivered != users) throw std::runtime_error("some posts failed (above)");
}

int main() { return example::run(run); }

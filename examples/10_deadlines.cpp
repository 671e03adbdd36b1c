// SPDX-License-Identifier: BSL-1.0
// Lesson 10: three ways to bound a call in time. call_options::total_timeout is the client's own deadline (it
// spans pool wait, attempts and backoffs, and fails with deadline_exceeded); from outside, any cancellation
// works: a parallel group racing the call against a timer, or the `||` of awaitable operators. Cancelling a
// post_message after it may have been sent sets diag.outcome_unknown: the message may exist.
#include "example_env.hpp"

#include <smooch/conversation_api.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>  // for ||
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;  // brings || and && for awaitables

asio::awaitable<void> run(smooch::client& client)
{
    smooch::conversation_api api{client};
    const auto app = example::app_id();

    smooch::message_post hello;
    hello.text = "hello";
    co_await api.post_message(app, "deadline-user", hello);  // a conversation to read

    // 1. The client's own deadline.
    smooch::call_options opts;
    opts.total_timeout = std::chrono::seconds(5);
    auto page = co_await api.get_messages(app, "deadline-user", {}, opts);
    std::cout << "1. within 5 s: " << (page.messages ? page.messages->size() : 0) << " messages\n";

    // 2. A parallel group: whichever finishes first cancels the other.
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::seconds(5));
    smooch::diagnostics diag;
    auto [order, ec, reply, timer_ec] =
        co_await asio::experimental::make_parallel_group(
            api.async_get_messages(app, "deadline-user", {}, diag, asio::deferred), timer.async_wait(asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    std::cout << "2. " << (order[0] == 0 ? "the call finished first: " + ec.message() : std::string("timed out"))
              << "\n";

    // 3. Awaitable operators: the call, or a timer.
    asio::steady_timer t2(co_await asio::this_coro::executor, std::chrono::seconds(5));
    auto winner = co_await (api.get_messages(app, "deadline-user") || t2.async_wait(asio::use_awaitable));
    std::cout << "3. " << (winner.index() == 0 ? "the call finished first" : "timed out") << "\n";
}

int main() { return example::run(run); }

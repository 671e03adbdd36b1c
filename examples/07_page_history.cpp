// SPDX-License-Identifier: BSL-1.0
// Lesson 7: walk a whole history, oldest first, without missing or repeating a message; a deadline per call
// composes from outside through call_options (or asio's cancellation).
#include "example_env.hpp"

#include <smooch/conversation_api.hpp>

#include <iostream>

namespace asio = boost::asio;

asio::awaitable<void> run(smooch::client& client)
{
    smooch::conversation_api api{client};
    const std::string user = "history-user";
    for (int i = 0; i < 250; ++i) {
        smooch::message_post msg;
        msg.text = "message " + std::to_string(i);
        co_await api.post_message(example::app_id(), user, msg);
    }
    smooch::call_options opts;
    opts.total_timeout = std::chrono::seconds(30);
    std::size_t n = co_await api.walk_history(
        example::app_id(), user, smooch::walk_direction::oldest_first, [](const smooch::message&) {}, opts);
    std::cout << "walked " << n << " messages across pages of 100\n";
    if (n < 250) std::exit(1);
}

int main() { return example::run(run); }

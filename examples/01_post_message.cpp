// SPDX-License-Identifier: BSL-1.0
// Lesson 1: connect, post a message, read the typed result.
#include "example_env.hpp"

#include <smooch/conversation_api.hpp>

#include <iostream>

namespace asio = boost::asio;

asio::awaitable<void> run(smooch::client& client)
{
    smooch::conversation_api api{client};
    smooch::message_post msg;
    msg.role = smooch::role::app_maker;
    msg.type = smooch::message_type::text;
    msg.text = "Hello from smooch-cpp";
    smooch::message_response r = co_await api.post_message(example::app_id(), "example-user", msg);
    std::cout << "posted message " << r.message->id.value_or("?") << " at "
              << smooch::format_cursor(r.message->received.value_or(0)) << " in conversation "
              << r.conversation->id.value_or("?") << "\n";
}

int main() { return example::run(run); }

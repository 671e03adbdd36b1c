// SPDX-License-Identifier: BSL-1.0
// Lesson 6: clear a conversation's history.
#include "example_env.hpp"

#include <smooch/conversation_api.hpp>

#include <iostream>

namespace asio = boost::asio;

asio::awaitable<void> run(smooch::client& client)
{
    smooch::conversation_api api{client};
    co_await api.delete_messages(example::app_id(), "example-user");
    auto page = co_await api.get_messages(example::app_id(), "example-user");
    std::cout << "history cleared: " << (page.messages ? page.messages->size() : 0) << " messages left\n";
}

int main() { return example::run(run); }

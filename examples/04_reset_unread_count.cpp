// SPDX-License-Identifier: BSL-1.0
// Lesson 4: operations without a body return smooch::done (the 2xx status).
#include "example_env.hpp"

#include <smooch/conversation_api.hpp>

#include <iostream>

namespace asio = boost::asio;

asio::awaitable<void> run(smooch::client& client)
{
    smooch::conversation_api api{client};
    smooch::done d = co_await api.reset_unread_count(example::app_id(), "example-user");
    auto page = co_await api.get_messages(example::app_id(), "example-user");
    std::cout << "reset_unread_count: HTTP " << d.status << ", unread now "
              << page.conversation->unread_count.value_or(-1) << "\n";
}

int main() { return example::run(run); }

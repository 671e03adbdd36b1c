// SPDX-License-Identifier: BSL-1.0
// Lesson 2: read the latest page of a conversation; before/after cursors come from `received`.
#include "example_env.hpp"

#include <smooch/conversation_api.hpp>

#include <iostream>

namespace asio = boost::asio;

asio::awaitable<void> run(smooch::client& client)
{
    smooch::conversation_api api{client};
    auto page = co_await api.get_messages(example::app_id(), "example-user");
    std::cout << (page.messages ? page.messages->size() : 0) << " messages, unread "
              << page.conversation->unread_count.value_or(0) << (page.has_previous() ? ", older ones exist" : "")
              << "\n";
    if (page.messages && !page.messages->empty()) {
        smooch::get_messages_query older;  // exclusive bound, formatted without losing digits
        older.before = smooch::format_cursor(*page.messages->front().received);
        auto before = co_await api.get_messages(example::app_id(), "example-user", older);
        std::cout << "before " << *older.before << ": " << (before.messages ? before.messages->size() : 0)
                  << " messages\n";
    }
}

int main() { return example::run(run); }

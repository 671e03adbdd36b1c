// SPDX-License-Identifier: BSL-1.0
// Lesson 5: delete one message by id; any id is safe, it is percent-encoded as one path segment.
#include "example_env.hpp"

#include <smooch/conversation_api.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>

namespace asio = boost::asio;

asio::awaitable<void> run(smooch::client& client)
{
    smooch::conversation_api api{client};
    const std::string user = "user/with ?odd# chars";
    smooch::message_post msg;
    msg.text = "to be deleted";
    auto posted = co_await api.post_message(example::app_id(), user, msg);
    co_await api.delete_message(example::app_id(), user, *posted.message->id);
    auto [ec, again] = co_await api.async_delete_message(example::app_id(), user, *posted.message->id,
                                                         asio::as_tuple(asio::use_awaitable));
    std::cout << "deleted " << *posted.message->id << "; deleting again gives " << ec.message() << "\n";
}

int main() { return example::run(run); }

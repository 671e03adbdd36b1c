// SPDX-License-Identifier: BSL-1.0
// Lesson 3: typing indicators, and the non-throwing form of an operation.
#include "example_env.hpp"

#include <smooch/conversation_api.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>

namespace asio = boost::asio;

asio::awaitable<void> run(smooch::client& client)
{
    smooch::conversation_api api{client};
    smooch::conversation_activity typing;
    typing.role = smooch::role::app_maker;
    typing.type = smooch::activity_type::typing_start;
    typing.name = "Example Bot";
    // async_X with a diagnostics& and as_tuple: no exception; the error, the HTTP status and the API's error
    // body are in ec and diag.
    smooch::diagnostics diag;
    auto [ec, r] = co_await api.async_conversation_activity(example::app_id(), "example-user", typing, diag,
                                                            asio::as_tuple(asio::use_awaitable));
    if (ec) {
        std::cerr << smooch::describe(ec, diag) << "\n";
        std::exit(1);
    }
    std::cout << "typing:start sent; conversation " << r.conversation->id.value_or("?") << "\n";
}

int main() { return example::run(run); }

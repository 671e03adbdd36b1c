// Lesson 3: typing indicators, and the non-throwing form of an operation.
#include "example_env.hpp"

#include <smooch/conversation_api.hpp>

#include <iostream>

namespace asio = boost::asio;

asio::awaitable<void> run(smooch::client& client)
{
    smooch::conversation_api api{client};
    smooch::conversation_activity typing;
    typing.role = smooch::role::app_maker;
    typing.type = smooch::activity_type::typing_start;
    typing.name = "Example Bot";
    smooch::outcome<smooch::activity_response> r =
        co_await api.try_conversation_activity(example::app_id(), "example-user", typing);
    if (!r) {  // no exception: the code, the HTTP status and the API's error body are in r.diag
        std::cerr << smooch::describe(r.ec, r.diag) << "\n";
        std::exit(1);
    }
    std::cout << "typing:start sent; conversation " << r.value->conversation->id.value_or("?") << "\n";
}

int main() { return example::run(run); }

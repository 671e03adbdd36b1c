// Lesson 1: connect, post a message, read the typed result.
#include "example_env.hpp"

#include <smooch/conversation_api.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

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
    std::cout << "posted message " << r.message->id.value_or("?") << " at " << smooch::format_cursor(r.message->received.value_or(0))
              << " in conversation " << r.conversation->id.value_or("?") << "\n";
}

int main()
{
    asio::io_context io;  // the client runs on your io_context; it starts no thread
    smooch::client client{io.get_executor(), example::params_from_env()};
    asio::co_spawn(io, run(client), [](std::exception_ptr e) {
        if (!e) return;
        try { std::rethrow_exception(e); }
        catch (const smooch::error& err) { std::cerr << err.what() << "\n"; std::exit(1); }  // code + diagnostics
    });
    io.run();
}

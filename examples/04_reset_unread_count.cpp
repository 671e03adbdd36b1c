// Lesson 4: operations without a body return smooch::done (the 2xx status).
#include "example_env.hpp"

#include <smooch/conversation_api.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

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

int main()
{
    asio::io_context io;
    smooch::client client{io.get_executor(), example::params_from_env()};
    asio::co_spawn(io, run(client), [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
    io.run();
}

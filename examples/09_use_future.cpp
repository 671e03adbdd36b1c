// SPDX-License-Identifier: BSL-1.0
// Lesson 9: a plain thread calls the client with futures while the io_context runs on another thread.
// use_future's handler has no executor, so the call runs on the client's; get() rethrows a failure as
// boost::system::system_error (its code() is the same error_code the other forms give).
#include "example_env.hpp"

#include <smooch/conversation_api.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <iostream>
#include <thread>

int main()
{
    boost::asio::io_context io;
    auto work = boost::asio::make_work_guard(io);  // keep run() going while this thread makes calls
    std::thread io_thread([&] { io.run(); });

    smooch::client client{io.get_executor(), example::params_from_env()};
    smooch::conversation_api api{client};
    int status = 0;
    try {
        smooch::message_post msg;
        msg.text = "sent with use_future";
        auto posted = api.async_post_message(example::app_id(), "future-user", msg, boost::asio::use_future);
        std::cout << "posted " << posted.get().message->id.value_or("?") << "\n";
        auto missing =
            api.async_delete_message(example::app_id(), "future-user", "no-such-message", boost::asio::use_future);
        missing.get();
        status = 1;  // deleting a message that does not exist must fail
    } catch (const boost::system::system_error& e) {
        std::cout << "as expected: " << e.code().message() << "\n";
    }
    work.reset();
    io_thread.join();
    return status;
}

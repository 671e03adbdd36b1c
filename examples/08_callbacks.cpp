// SPDX-License-Identifier: BSL-1.0
// Lesson 8: no coroutines. Every operation takes a completion handler; chain calls from handlers. The
// diagnostics of a call go to a `diagnostics` object that must live until its handler runs.
#include "example_env.hpp"

#include <smooch/conversation_api.hpp>

#include <boost/asio/io_context.hpp>

#include <iostream>
#include <memory>

int main()
{
    boost::asio::io_context io;
    smooch::client client{io.get_executor(), example::params_from_env()};
    smooch::conversation_api api{client};
    int status = 1;

    struct state {
        smooch::diagnostics diag;
        smooch::message_post msg;
    };
    auto s = std::make_shared<state>();
    s->msg.text = "sent from a callback";
    api.async_post_message(example::app_id(), "callback-user", s->msg, s->diag,
                           [&, s](smooch::error_code ec, smooch::message_response posted) {
                               // Runs on the client's executor (this io_context): the handler has no executor of its own.
                               if (ec) {
                                   std::cerr << smooch::describe(ec, s->diag) << "\n";
                                   return;
                               }
                               std::cout << "posted " << posted.message->id.value_or("?") << "\n";
                               api.async_get_messages(
                                   example::app_id(), "callback-user", {}, s->diag,
                                   [&, s](smooch::error_code ec2, smooch::get_messages_response page) {
                                       if (ec2) {
                                           std::cerr << smooch::describe(ec2, s->diag) << "\n";
                                           return;
                                       }
                                       std::cout << "the conversation has " << page.messages->size() << " message(s)\n";
                                       status = 0;
                                   });
                           });
    io.run();  // returns when both calls are done: the library keeps no work of its own pending
    return status;
}

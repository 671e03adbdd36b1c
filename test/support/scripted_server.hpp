// SPDX-License-Identifier: BSL-1.0
#pragma once
// A plain-HTTP server on loopback (the client accepts http:// for loopback) that answers requests from a script:
// each request, in arrival order, gets the next step's bytes, or has its connection reset. Hostile and odd
// servers (interim responses, unreadable bodies, stray bytes) are written as scripts. Bounded: at most 16
// connections and 16 requests per connection.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <deque>
#include <string>

namespace smooch::test {

struct scripted_server {
    /// One request's fate: send `bytes` (verbatim, any HTTP the test wants), or, with `reset`, close the
    /// connection with a TCP RST once the request is read.
    struct step {
        std::string bytes;
        bool reset = false;
    };

    boost::asio::ip::tcp::acceptor acceptor;
    std::deque<step> script;  // consumed in order; when empty, `response` answers
    std::string response;
    int connections = 0;
    int requests = 0;

    scripted_server(boost::asio::any_io_executor ex, std::string r)
        : acceptor(ex, {boost::asio::ip::make_address("127.0.0.1"), 0}), response(std::move(r))
    {
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()); }

    boost::asio::awaitable<void> serve()
    {
        for (int accepted = 0; accepted < 16; ++accepted) {
            auto [ec, sock] = co_await acceptor.async_accept(boost::asio::as_tuple(boost::asio::use_awaitable));
            if (ec) co_return;
            ++connections;
            boost::asio::co_spawn(acceptor.get_executor(), session(std::move(sock)), boost::asio::detached);
        }
    }

    boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket s)
    {
        std::string in;
        for (int n = 0; n < 16; ++n) {
            auto [ec, len] = co_await boost::asio::async_read_until(s, boost::asio::dynamic_buffer(in), "\r\n\r\n",
                                                                    boost::asio::as_tuple(boost::asio::use_awaitable));
            if (ec) co_return;
            in.erase(0, len);  // a request's body stays in `in` and is skipped with the next request's head
            ++requests;
            step st = script.empty() ? step{response} : script.front();
            if (!script.empty()) script.pop_front();
            if (st.reset) {
                s.set_option(boost::asio::socket_base::linger(true, 0));
                s.close();
                co_return;
            }
            auto [wec, w] = co_await boost::asio::async_write(s, boost::asio::buffer(st.bytes),
                                                              boost::asio::as_tuple(boost::asio::use_awaitable));
            if (wec) co_return;
        }
    }
};

} // namespace smooch::test

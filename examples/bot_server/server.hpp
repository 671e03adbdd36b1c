// SPDX-License-Identifier: BSL-1.0
#pragma once
// The HTTP side of the bot: a Beast HTTP/1.1 listener and one coroutine per connection, with the limits a
// server facing the Internet needs. It knows nothing of Smooch: each complete request goes to a handler that
// answers at once (handler.hpp). Shaped like Boost.MySQL's http_server_cpp20 example (server / handler /
// repository on one io_context).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>

namespace bot {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;

struct server_limits {
    /// Connections served at once; one more gets 503 (Smooch retries it later) and is closed. Default 256.
    std::size_t max_connections = 256;
    /// Largest request body, bytes; larger gets 400 (a webhook that big is not one we can use, and 400 stops
    /// the redelivery a 413 would cause). Default 512 KiB: Smooch's JSON is limited to about 100 kB.
    std::size_t max_body = 512 * 1024;
    /// Largest request head, bytes. Default 16 KiB.
    std::size_t max_header = 16 * 1024;
    /// Time allowed to receive one request, and to wait idle for the next on a kept-alive connection. Default
    /// 10 s: Smooch sends the whole request at once.
    std::chrono::milliseconds read_timeout = std::chrono::seconds(10);
};

/// Answers one complete request, at once (it must not wait for anything).
using request_handler = std::function<response(const request&)>;

class server {
public:
    /// Binds `where` (port 0: the OS chooses) and listens. Throws boost::system::system_error.
    server(boost::asio::any_io_executor ex, const boost::asio::ip::tcp::endpoint& where, server_limits limits,
           request_handler handler);
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    /// Starts accepting.
    void start();
    /// Stops accepting and closes idle connections; a connection in the middle of a request answers it first.
    void stop();

private:
    struct session;
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(std::shared_ptr<session> s);

    boost::asio::any_io_executor ex_;
    boost::asio::ip::tcp::acceptor acceptor_;
    server_limits limits_;
    request_handler handler_;
    std::list<std::weak_ptr<session>> sessions_;
    bool stopped_ = false;
};

}  // namespace bot

// SPDX-License-Identifier: BSL-1.0
// The listener and the sessions (server.hpp). Each connection is one coroutine: read a request (bounded in size
// and time), hand it to the handler, write the answer, repeat while the client keeps the connection alive.

#include "server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <iostream>
#include <optional>
#include <string_view>

namespace bot {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

struct server::session {
    explicit session(tcp::socket s) : stream(std::move(s)) {}
    beast::tcp_stream stream;
    bool busy = false;  // between the end of a request's head and the end of its answer
};

namespace {

response plain(unsigned status, std::string_view text)
{
    response r{static_cast<http::status>(status), 11};
    r.set(http::field::content_type, "text/plain");
    r.body() = std::string(text) + "\n";
    r.keep_alive(false);
    r.prepare_payload();
    return r;
}

}  // namespace

server::server(asio::any_io_executor ex, const tcp::endpoint& where, server_limits limits, request_handler handler)
    : ex_(std::move(ex)), acceptor_(ex_), limits_(limits), handler_(std::move(handler))
{
    acceptor_.open(where.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(where);
    acceptor_.listen(asio::socket_base::max_listen_connections);
}

void server::start() { asio::co_spawn(ex_, accept_loop(), asio::detached); }

void server::stop()
{
    stopped_ = true;
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (auto& w : sessions_)
        if (auto s = w.lock(); s && !s->busy) s->stream.socket().close(ec);  // waiting for a request: nothing lost
}

asio::awaitable<void> server::accept_loop()
{
    while (!stopped_) {
        auto [ec, sock] = co_await acceptor_.async_accept(tuple_awaitable);
        if (stopped_ || ec == asio::error::operation_aborted) co_return;
        if (ec) continue;  // e.g. EMFILE: the connection is lost, the listener is not
        boost::system::error_code ignored;
        sock.set_option(tcp::no_delay(true), ignored);
        std::erase_if(sessions_, [](const std::weak_ptr<session>& w) { return w.expired(); });
        auto s = std::make_shared<session>(std::move(sock));
        if (sessions_.size() >= limits_.max_connections) {
            // Over the cap: a short answer Smooch retries later, instead of a connection it cannot tell from a
            // dead server.
            auto busy = std::make_shared<response>(plain(503, "busy"));
            s->stream.expires_after(std::chrono::seconds(1));
            http::async_write(s->stream, *busy, [s, busy](boost::system::error_code, std::size_t) {
                boost::system::error_code e;
                s->stream.socket().shutdown(tcp::socket::shutdown_send, e);
            });
            continue;
        }
        sessions_.push_back(s);
        asio::co_spawn(ex_, serve(s), asio::detached);
    }
}

asio::awaitable<void> server::serve(std::shared_ptr<session> s)
{
    beast::flat_buffer buf(limits_.max_header + 4096);
    while (!stopped_) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits_.max_header));
        parser.body_limit(limits_.max_body);
        s->stream.expires_after(limits_.read_timeout);
        auto [hec, hn] = co_await http::async_read_header(s->stream, buf, parser, tuple_awaitable);
        std::optional<response> res;
        if (hec == http::error::body_limit) res = plain(400, "request body too large");  // by its Content-Length
        else if (hec) break;  // closed, idle too long, garbage or oversized head: nothing to answer
        s->busy = true;
        if (!res && !parser.is_done()) {
            auto [bec, bn] = co_await http::async_read(s->stream, buf, parser, tuple_awaitable);
            if (bec == http::error::body_limit) res = plain(400, "request body too large");
            else if (bec) break;
        }
        if (!res) {
            res = handler_(parser.get());
            res->version(parser.get().version());
            res->keep_alive(res->keep_alive() && parser.get().keep_alive());
        }
        if (stopped_) res->keep_alive(false);
        res->prepare_payload();
        s->stream.expires_after(limits_.read_timeout);
        auto [wec, wn] = co_await http::async_write(s->stream, *res, tuple_awaitable);
        s->busy = false;
        if (wec || !res->keep_alive()) break;
    }
    boost::system::error_code ec;
    s->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    s->stream.socket().close(ec);
}

}  // namespace bot

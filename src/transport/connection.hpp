// SPDX-License-Identifier: BSL-1.0
#pragma once
// One pooled connection: an Asio TCP socket, for https:// an OpenSSL SSL object over our cipher buffers, and
// the deadline that bounds each phase (connect + handshake, or one exchange) with one timer.

#include "transport/tls_driver.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <openssl/err.h>

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace smooch::detail {

/// What a phase's timer handler shares with the connection. On expiry the handler shuts the socket down, which
/// fails the pending operation and any later one at once; `fired` then tells the phase that this was its
/// deadline. Shared with the handler, which may run after the connection is gone; `generation` keeps a late
/// handler of an earlier phase from acting on a later one.
struct deadline_watch {
    std::mutex mu;
    boost::asio::ip::tcp::socket* socket = nullptr;  // set while a phase is armed
    std::uint64_t generation = 0;
    bool fired = false;
};

/// The connection is also the stream its I/O goes through (an Asio AsyncStream): every socket operation is
/// started under the watch's mutex, which the deadline handler also holds when it shuts the socket down. Asio
/// documents a socket as unsafe to share between threads ("Shared objects: Unsafe"), and the handler of a
/// connection's timer may run on another thread of a multi-threaded io_context than its call; serialised this
/// way, no two member functions of the socket ever run at once, for the price of an uncontended lock per
/// operation (a strand would cost a hop per operation).
struct connection {
    using clock = std::chrono::steady_clock;
    using tcp = boost::asio::ip::tcp;
    using executor_type = tcp::socket::executor_type;

    explicit connection(const boost::asio::any_io_executor& ex)
        : socket(ex), timer(ex), watch(std::make_shared<deadline_watch>())
    {}
    ~connection()
    {
        disarm();
        if (ssl) SSL_free(ssl);
    }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    tcp::socket socket;
    SSL* ssl = nullptr;  // null for http://
    cipher_buffers cipher;
    boost::beast::flat_buffer buffer;  // response bytes (plaintext) not yet parsed
    std::string wire;                  // the request being written, reused across requests
    std::size_t served = 0;            // requests answered on it (pool_params::max_requests_per_connection)
    boost::asio::steady_timer timer;
    std::shared_ptr<deadline_watch> watch;

    executor_type get_executor() noexcept { return socket.get_executor(); }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token)
    {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                std::lock_guard lk(watch->mu);
                socket.async_read_some(b, std::move(handler));
            },
            token, buffers);
    }
    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token)
    {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& b) {
                std::lock_guard lk(watch->mu);
                socket.async_write_some(b, std::move(handler));
            },
            token, buffers);
    }
    template <class Token>
    auto async_connect(const tcp::endpoint& endpoint, Token&& token)
    {
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [this](auto handler, const tcp::endpoint& e) {
                std::lock_guard lk(watch->mu);
                socket.async_connect(e, std::move(handler));
            },
            token, endpoint);
    }
    void set_no_delay(boost::system::error_code& ec)
    {
        std::lock_guard lk(watch->mu);
        socket.set_option(tcp::no_delay(true), ec);
    }

    /// Starts a phase that must end by `limit`.
    void arm(clock::time_point limit)
    {
        std::uint64_t g;
        {
            std::lock_guard lk(watch->mu);
            watch->socket = &socket;
            watch->fired = false;
            g = ++watch->generation;
        }
        if (limit == clock::time_point::max()) return;
        timer.expires_at(limit);
        timer.async_wait([w = watch, g](boost::system::error_code ec) {
            if (ec) return;
            std::lock_guard lk(w->mu);
            if (!w->socket || w->generation != g) return;
            w->fired = true;
            boost::system::error_code ignored;
            w->socket->shutdown(tcp::socket::shutdown_both, ignored);  // fails reads and writes, later ones too
            w->socket->cancel(ignored);                                // and a connect in progress
        });
    }
    /// Ends the phase; true if its deadline had passed.
    bool disarm()
    {
        bool fired;
        {
            std::lock_guard lk(watch->mu);
            if (!watch->socket) return false;
            watch->socket = nullptr;
            fired = watch->fired;
        }
        timer.cancel();
        return fired;
    }
    bool expired()
    {
        std::lock_guard lk(watch->mu);
        return watch->fired;
    }
    /// Takes the result of a socket read into cipher.in: the end of the stream is noted for OpenSSL (which
    /// reports it on its next read), not an error.
    boost::system::error_code received_cipher(boost::system::error_code ec, std::size_t n)
    {
        cipher.in.commit(n);
        if (ec != boost::asio::error::eof) return ec;
        cipher.eof = true;
        return {};
    }
    /// Closes the socket and opens it for `protocol`, unless the phase's deadline has passed (false).
    bool reopen(const tcp& protocol, boost::system::error_code& ec)
    {
        std::lock_guard lk(watch->mu);
        if (watch->fired) return false;
        boost::system::error_code ignored;
        if (socket.is_open()) socket.close(ignored);
        socket.open(protocol, ec);
        return true;
    }

    void close()
    {
        disarm();
        // Mark the TLS session as cleanly ended without sending anything: OpenSSL otherwise treats a session
        // whose connection was not shut down as bad and refuses to resume it.
        if (ssl) {
            SSL_set_quiet_shutdown(ssl, 1);
            SSL_shutdown(ssl);
            ERR_clear_error();  // a shutdown during a failed handshake leaves an error we do not want to leak
        }
        boost::system::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
    }
    /// A kept-alive connection is usable only if the peer has neither closed it nor sent anything unasked.
    bool looks_alive()
    {
        char b;
        ssize_t n = ::recv(socket.native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
};

}  // namespace smooch::detail

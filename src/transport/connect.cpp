// SPDX-License-Identifier: BSL-1.0
// Opening a connection: DNS (cached), TCP to each address under one deadline, the TLS handshake.

#include "transport/https_connector.hpp"

#include <smooch/version.hpp>

#include "common/receive_until.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/x509_vfy.h>

namespace smooch::detail {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr unsigned max_handshake_rounds = 100000;  // socket reads; the connect timeout bounds it in time
constexpr std::size_t tls_read_size = 17 * 1024;   // a whole TLS record (16 KiB of data plus its overhead)

bool is_ip_literal(const std::string& host)
{
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

/// Sends what OpenSSL has written to the cipher buffer.
asio::awaitable<error_code> flush(connection& c)
{
    auto [ec, n] = co_await asio::async_write(c, asio::buffer(c.cipher.out), use_tuple);
    c.cipher.out.clear();
    co_return ec;
}

/// Reads more ciphertext from the socket; the end of the stream is noted for OpenSSL, not an error.
asio::awaitable<error_code> fill(connection& c)
{
    auto [ec, n] = co_await c.async_read_some(c.cipher.in.prepare(tls_read_size), use_tuple);
    co_return c.received_cipher(ec, n);
}

}  // namespace

https_connector::https_connector(const client_params& p, const origin& o, atomic_counters& stats)
    : params_(p), base_(o), stats_(stats), user_agent_(std::string("smooch-cpp/") + smooch::version())
{
    if (base_.tls) tls_.emplace(params_.tls, base_);
}

asio::awaitable<error_code> https_connector::resolve(tcp::resolver::results_type& out, time_point limit,
                                                     error_code timeout_ec)
{
    {
        std::lock_guard lk(mu_);
        if (dns_ && std::chrono::steady_clock::now() < dns_expiry_) {
            out = *dns_;
            co_return error_code{};
        }
    }
    if (is_ip_literal(base_.host)) {
        out = tcp::resolver::results_type::create(
            tcp::endpoint(asio::ip::make_address(base_.host), static_cast<unsigned short>(std::stoi(base_.port))),
            base_.host, base_.port);
    } else {
        // Host-name lookups run on Asio's resolver thread; the caller waits with receive_until, and an abandoned
        // lookup is cancelled and finishes on its own.
        struct lookup {
            explicit lookup(const asio::any_io_executor& e) : resolver(e), done(e, 1) {}
            tcp::resolver resolver;
            asio::experimental::concurrent_channel<void(error_code, tcp::resolver::results_type)> done;
        };
        const auto io = co_await asio::this_coro::executor;
        auto l = std::make_shared<lookup>(io);
        l->resolver.async_resolve(base_.host, base_.port, [l](error_code ec, tcp::resolver::results_type res) {
            l->done.try_send(ec, std::move(res));
        });
        auto [ec, res] = co_await receive_until<asio::steady_timer, lookup, tcp::resolver::results_type>(
            l, l->done, limit, timeout_ec);
        if (ec) {
            l->resolver.cancel();
            co_return ec;
        }
        out = std::move(res);
    }
    std::lock_guard lk(mu_);
    dns_ = out;
    dns_expiry_ = std::chrono::steady_clock::now() + params_.pool.dns_ttl;
    co_return error_code{};
}

void https_connector::forget_dns()
{
    std::lock_guard lk(mu_);
    dns_.reset();
}

asio::awaitable<error_code> https_connector::handshake(connection& c)
{
    for (unsigned round = 0; round < max_handshake_rounds; ++round) {
        drop_stale_tls_errors();
        error_code ec;
        const tls_step step = tls_step_of(c.ssl, c.cipher, SSL_do_handshake(c.ssl), ec);
        if (step == tls_step::end) ec = asio::error::eof;  // close_notify instead of a handshake
        if (!c.cipher.out.empty()) {                       // our flight, or the alert that tells the server why we stop
            if (auto fec = co_await flush(c); fec && !ec) ec = fec;
        }
        if (step != tls_step::want_read || ec) co_return ec;
        if (auto fec = co_await fill(c)) co_return fec;
    }
    co_return client_errc::bad_response;  // a peer trickling its handshake a byte at a time, forever
}

asio::awaitable<void> https_connector::connect(connection& c, time_point deadline, attempt_result& r)
{
    const auto connect_deadline = std::chrono::steady_clock::now() + params_.timeouts.connect;  // covers the lookup
    const auto limit = std::min(connect_deadline, deadline);
    auto timeout_error = [&] {
        return limit == deadline ? error_code(client_errc::deadline_exceeded)
                                 : error_code(client_errc::connect_timeout);
    };
    const std::string where = base_.host + ":" + base_.port;
    tcp::resolver::results_type eps;
    if (auto ec = co_await resolve(eps, limit, timeout_error())) {
        r.ec = ec;
        r.message = "resolving " + base_.host;
        co_return;
    }
    c.arm(limit);  // one deadline for connect and handshake
    error_code ec = eps.empty() ? error_code(asio::error::host_not_found) : error_code{};
    for (const auto& e : eps) {
        // Opened under the watch's mutex: the deadline handler never meets a socket being replaced, and once it
        // has fired no further endpoint is tried.
        if (!c.reopen(e.endpoint().protocol(), ec)) break;
        if (ec) continue;
        std::tie(ec) = co_await c.async_connect(e.endpoint(), use_tuple);
        if (!ec || ec == asio::error::operation_aborted) break;  // connected, or cancelled by the caller
    }
    if (ec || c.expired()) {
        if (c.disarm()) ec = timeout_error();
        forget_dns();
        r.ec = ec;
        r.message = "connecting to " + where;
        co_return;
    }
    c.set_no_delay(ec);
    if (!tls_) {
        if (c.disarm()) {  // expired just as it connected: the socket is shut down
            r.ec = timeout_error();
            r.message = "connecting to " + where;
            co_return;
        }
        stats_.connections_opened++;
        co_return;
    }
    if (auto e = tls_->start(c.ssl, c.cipher)) {
        c.disarm();
        r.ec = e;
        r.message = "TLS setup for " + base_.host;
        co_return;
    }
    auto hec = co_await handshake(c);
    if (c.disarm()) hec = timeout_error();
    if (hec) {
        long v = SSL_get_verify_result(c.ssl);
        if (v != X509_V_OK) {
            r.verify_failed = true;
            r.message = std::string("TLS certificate verification failed for ") + base_.host + ": " +
                        X509_verify_cert_error_string(v);
        } else {
            r.message = "TLS handshake with " + where;
        }
        r.ec = hec;
        co_return;
    }
    if (SSL_session_reused(c.ssl)) stats_.tls_resumed++;
    stats_.connections_opened++;  // counted once usable: a failed handshake is neither opened nor discarded
}

}  // namespace smooch::detail

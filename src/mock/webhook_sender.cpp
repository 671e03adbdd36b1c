// SPDX-License-Identifier: BSL-1.0
// webhook_sender (webhook_sender.hpp): one coroutine per delivery, one connection per attempt. Each attempt
// shares its sockets and timer with the watchdog that ends it after attempt_timeout, through a shared state, so
// a timer that fires as the attempt ends never touches a finished frame.

#include "mock/webhook_sender.hpp"

#include "mock/codec.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace smooch::mock::detail {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

struct webhook_sender::config {
    std::shared_ptr<const webhook_params> params;
    webhook_url url;
    std::string head;                         // request line and headers up to Content-Length's value
    mutable std::optional<ssl::context> tls;  // ssl::stream takes it by non-const reference
    std::string tls_problem;                  // why tls could not be set up (then every attempt fails with it)
};

namespace {

std::shared_ptr<const webhook_sender::config> make_config(std::shared_ptr<const webhook_params> p)
{
    auto c = std::make_shared<webhook_sender::config>();
    c->params = p;
    c->url = parse_webhook_url(p->target);  // checked when the settings were set
    std::string host = c->url.host.find(':') != std::string::npos ? "[" + c->url.host + "]" : c->url.host;
    if (c->url.port != (c->url.https ? 443 : 80)) host += ":" + std::to_string(c->url.port);
    c->head = "POST " + c->url.target + " HTTP/1.1\r\nHost: " + host +
              "\r\nUser-Agent: smooch-mock\r\nContent-Type: application/json\r\nConnection: close\r\nX-API-Key: " +
              p->secret + "\r\nContent-Length: ";
    if (c->url.https) {
        try {
            c->tls.emplace(ssl::context::tls_client);
            c->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                                ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
            c->tls->set_verify_mode(ssl::verify_peer);
            if (p->ca_pem.empty()) c->tls->set_default_verify_paths();
            else c->tls->add_certificate_authority(asio::buffer(p->ca_pem));
        } catch (const std::exception& e) {
            c->tls.reset();
            c->tls_problem = std::string("TLS setup: ") + e.what();
        }
    }
    return c;
}

/// One attempt's I/O objects, shared by the attempt and its watchdog.
struct attempt_state {
    explicit attempt_state(const asio::any_io_executor& ex) : resolver(ex), timer(ex), sock(ex) {}
    tcp::resolver resolver;
    asio::steady_timer timer;
    tcp::socket sock;
    std::optional<ssl::stream<tcp::socket&>> tls;
    bool timed_out = false;

    void abort()
    {
        resolver.cancel();
        boost::system::error_code ec;
        sock.close(ec);
    }
};

struct attempt_result {
    unsigned status = 0;
    webhook_outcome outcome = webhook_outcome::error;
    std::string error;
    clock_type::duration answer{0};
};

template <class Stream>
asio::awaitable<attempt_result> exchange(Stream& s, const std::string& wire, bool inject)
{
    attempt_result r;
    auto [wec, n] = co_await asio::async_write(s, asio::buffer(wire), tuple_awaitable);
    if (wec) {
        r.error = "write: " + wec.message();
        co_return r;
    }
    const auto written = clock_type::now();
    if (inject) {
        // The request is out; the answer is never read, as if it had not come in time.
        r.outcome = webhook_outcome::injected;
        co_return r;
    }
    boost::beast::flat_buffer buf(64 * 1024);
    http::response_parser<http::empty_body> parser;
    parser.header_limit(16 * 1024);
    auto [rec, m] = co_await http::async_read_header(s, buf, parser, tuple_awaitable);
    if (rec) {
        r.error = "read: " + rec.message();
        co_return r;
    }
    r.answer = clock_type::now() - written;
    r.status = parser.get().result_int();
    r.outcome = webhook_outcome::status;  // the engine tells 2xx, non-recoverable and retryable apart
    co_return r;
}

}  // namespace

struct webhook_sender::delivery_state {
    explicit delivery_state(const asio::any_io_executor& ex) : backoff(ex) {}
    asio::steady_timer backoff;
    std::shared_ptr<attempt_state> current;
};

namespace {

asio::awaitable<attempt_result> attempt(const asio::any_io_executor& ex, const webhook_sender::config& cfg,
                                        const webhook_delivery& d, bool inject, std::shared_ptr<attempt_state>& current)
{
    auto st = std::make_shared<attempt_state>(ex);
    current = st;
    st->timer.expires_after(cfg.params->attempt_timeout);
    st->timer.async_wait([st](boost::system::error_code ec) {
        if (ec) return;
        st->timed_out = true;
        st->abort();
    });
    attempt_result r;
    auto finish = [&](attempt_result res) {
        st->timer.cancel();
        if (st->timed_out) {
            res.outcome = webhook_outcome::timeout;
            res.status = 0;
            res.error = "no answer within " + std::to_string(cfg.params->attempt_timeout.count()) + " ms";
        }
        boost::system::error_code ignored;
        st->sock.close(ignored);
        current.reset();
        return res;
    };
    if (cfg.url.https && !cfg.tls) {
        r.error = cfg.tls_problem;
        co_return finish(r);
    }
    auto [rec, endpoints] =
        co_await st->resolver.async_resolve(cfg.url.host, std::to_string(cfg.url.port), tuple_awaitable);
    if (rec) {
        r.error = "resolve: " + rec.message();
        co_return finish(r);
    }
    auto [cec, ep] = co_await asio::async_connect(st->sock, endpoints, tuple_awaitable);
    if (cec) {
        r.error = "connect: " + cec.message();
        co_return finish(r);
    }
    boost::system::error_code ignored;
    st->sock.set_option(tcp::no_delay(true), ignored);
    std::string wire = cfg.head;
    append_int(wire, d.body.size());
    wire += "\r\n\r\n";
    wire += d.body;
    if (!cfg.url.https) co_return finish(co_await exchange(st->sock, wire, inject));

    st->tls.emplace(st->sock, *cfg.tls);
    boost::system::error_code addr_ec;
    asio::ip::make_address(cfg.url.host, addr_ec);
    if (addr_ec) SSL_set_tlsext_host_name(st->tls->native_handle(), cfg.url.host.c_str());  // SNI for names only
    st->tls->set_verify_callback(ssl::host_name_verification(cfg.url.host));
    auto [hec] = co_await st->tls->async_handshake(ssl::stream_base::client, tuple_awaitable);
    if (hec) {
        r.error = "TLS handshake: " + hec.message();
        co_return finish(r);
    }
    co_return finish(co_await exchange(*st->tls, wire, inject));
}

}  // namespace

void webhook_sender::wake()
{
    if (stopped_ || !eng_.has_webhooks()) return;
    auto p = eng_.webhook();
    if (!p) return;
    auto owner = owner_.lock();
    if (!owner) return;
    if (!cfg_ || cfg_->params != p) cfg_ = make_config(p);
    while (in_flight_ < p->max_in_flight) {
        auto batch = eng_.take_webhooks(p->max_in_flight - in_flight_);
        if (batch.empty()) break;
        for (auto& d : batch) {
            ++in_flight_;
            asio::co_spawn(ex_, deliver(owner, cfg_, std::move(d)), asio::detached);
        }
    }
}

void webhook_sender::stop()
{
    stopped_ = true;
    for (auto& d : active_) {
        d->backoff.cancel();
        if (d->current) {
            d->current->timer.cancel();
            d->current->abort();
        }
    }
}

asio::awaitable<void> webhook_sender::deliver(std::shared_ptr<void> owner, std::shared_ptr<const config> cfg,
                                              webhook_delivery d)
{
    auto self = shared_from_this();
    auto state = std::make_shared<delivery_state>(ex_);
    auto pos = active_.insert(active_.end(), state);
    for (unsigned n = 1; !stopped_; ++n) {
        webhook_attempt_record r;
        r.attempt = n;
        r.start = clock_type::now();
        const bool inject = eng_.inject_webhook_failure(*cfg->params);
        attempt_result res = co_await attempt(ex_, *cfg, d, inject, state->current);
        if (stopped_) break;  // aborted by stop(): not an outcome of the receiver's
        r.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - r.start);
        r.answer_time = std::chrono::duration_cast<std::chrono::microseconds>(res.answer);
        r.status = res.status;
        r.outcome = res.outcome;
        r.error = std::move(res.error);
        auto next = eng_.webhook_attempt_done(*cfg->params, d, std::move(r));
        if (!next) break;
        state->backoff.expires_after(*next);
        co_await state->backoff.async_wait(tuple_awaitable);
    }
    active_.erase(pos);
    --in_flight_;
    wake();         // a slot is free (the engine is still alive: `owner` holds the server)
    owner.reset();  // only now may the server go
}

}  // namespace smooch::mock::detail

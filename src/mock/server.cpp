// SPDX-License-Identifier: BSL-1.0
// smooch::mock::server: the socket side. One coroutine per connection reads requests with Beast's parser,
// asks the engine what to answer and writes a response serialized by hand into a reused buffer. The only
// Asio/Beast-heavy translation unit of the mock.

#include <smooch/mock/engine.hpp>
#include <smooch/mock/server.hpp>

#include "mock/codec.hpp"
#include "mock/request_parser.hpp"
#include "mock/webhook_sender.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <list>
#include <stdexcept>

namespace smooch::mock {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

namespace {

/// Per-connection state shared by the session and its watchdog.
struct conn_base {
    explicit conn_base(const asio::any_io_executor& ex) : timer(ex), delay_timer(ex) {}
    tcp::socket* sock = nullptr;     // lowest layer, for closing
    asio::steady_timer timer;        // the watchdog's timer
    asio::steady_timer delay_timer;  // fault delays (cancelled by stop())
    clock_type::time_point deadline = clock_type::time_point::max();
    clock_type::time_point armed = clock_type::time_point::max();  // what the timer waits for now
    bool done = false;
    bool refused = false;  // beyond max_connections: its request gets the 503 (server_params::max_connections)

    /// Moves the deadline. Later deadlines cost nothing (the watchdog re-arms when it wakes up); earlier ones
    /// wake it up so it re-arms sooner.
    void set_deadline(clock_type::duration d)
    {
        deadline = clock_type::now() + d;
        if (deadline < armed) timer.cancel();
    }

    void close(bool reset = false)
    {
        boost::system::error_code ec;
        if (!sock->is_open()) return;
        if (reset) sock->set_option(asio::socket_base::linger(true, 0), ec);  // RST instead of FIN
        else sock->shutdown(tcp::socket::shutdown_send, ec);
        sock->close(ec);
    }
};

inline tcp::socket& lowest(tcp::socket& s) { return s; }
inline tcp::socket& lowest(ssl::stream<tcp::socket>& s) { return s.next_layer(); }

template <class Stream>
struct conn : conn_base {
    template <class... Args>
    explicit conn(tcp::socket s, Args&&... args)
        : conn_base(s.get_executor()), stream(std::move(s), std::forward<Args>(args)...)
    {
        sock = &lowest(stream);
    }
    Stream stream;
};

bool is_parse_error(const boost::system::error_code& ec)
{
    return ec.category() == http::make_error_code(http::error::bad_target).category();
}

}  // namespace

struct server::impl : std::enable_shared_from_this<server::impl> {
    impl(asio::any_io_executor e, server_params p)
        : ex(std::move(e)), params(std::move(p)), eng(params), acceptor(ex),
          webhooks(std::make_shared<detail::webhook_sender>(ex, eng))
    {
        if (params.tls) {
            tls.emplace(ssl::context::tls_server);
            tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                             ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
            tls->use_certificate_chain(asio::buffer(params.tls->cert_pem));
            tls->use_private_key(asio::buffer(params.tls->key_pem), ssl::context::pem);
        }
    }

    asio::any_io_executor ex;
    server_params params;
    engine eng;
    std::optional<ssl::context> tls;
    tcp::acceptor acceptor;
    unsigned short bound_port = 0;
    bool stopped = false;
    std::list<conn_base*> conns;  // live connections, to close them on stop()
    std::size_t admitted = 0;     // live connections that are served (not refused)
    std::time_t date_second = -1;
    std::string date;  // the Date header's value for date_second

    /// The `Date` header's value (RFC 9110 §5.6.7 IMF-fixdate), formatted once per second.
    std::string_view http_date();

    std::shared_ptr<detail::webhook_sender> webhooks;  // POSTs what the engine's outbox holds

    void start();
    void stop();
    asio::awaitable<void> accept_loop();
    template <class Stream>
    asio::awaitable<void> session(std::shared_ptr<conn<Stream>> c);
    static asio::awaitable<void> watchdog(std::shared_ptr<conn_base> c);
    std::string base_url() const;
};

namespace {

void append_header_value(std::string& out, std::string_view v)
{
    for (char c : v)
        if (static_cast<unsigned char>(c) >= 0x20) out += c;  // no header injection from fault specs
}

/// Serializes status line + headers (+ body unless `head`) into `wire`. Returns the header size.
/// A response to HEAD (RFC 9110 §9.3.2) has the same headers, Content-Length included, and no body.
std::size_t serialize(const http_response& r, bool keep_alive, bool http10, std::string_view date, std::string& wire,
                      bool head = false)
{
    wire.clear();
    wire += http10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    detail::append_int(wire, r.status);
    wire += ' ';
    wire += reason_phrase(r.status);
    wire += "\r\nServer: smooch-mock\r\nDate: ";
    wire += date;
    wire += "\r\nContent-Type: application/json\r\nContent-Length: ";
    detail::append_int(wire, r.body.size());
    wire += "\r\n";
    if (!r.retry_after.empty()) {
        wire += "Retry-After: ";
        append_header_value(wire, r.retry_after);
        wire += "\r\n";
    }
    if (!r.allow.empty()) {
        wire += "Allow: ";
        wire += r.allow;
        wire += "\r\n";
    }
    if (!keep_alive) wire += "Connection: close\r\n";
    else if (http10) wire += "Connection: keep-alive\r\n";
    wire += "\r\n";
    std::size_t header_size = wire.size();
    if (!head) wire += r.body;
    return header_size;
}

}  // namespace

std::string_view server::impl::http_date()
{
    const std::time_t now = std::time(nullptr);
    if (now == date_second) return date;
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm t{};
    gmtime_r(&now, &t);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[t.tm_wday % 7], t.tm_mday,
                  months[t.tm_mon % 12], t.tm_year + 1900, t.tm_hour, t.tm_min, t.tm_sec);
    date_second = now;
    date = buf;
    return date;
}

std::string server::impl::base_url() const
{
    std::string host = params.host;
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(bound_port);
}

void server::impl::start()
{
    if (stopped) throw std::logic_error("smooch::mock::server: start() after stop()");
    auto addr = asio::ip::make_address(params.host);
    tcp::endpoint ep{addr, params.port};
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(asio::socket_base::max_listen_connections);
    bound_port = acceptor.local_endpoint().port();
    eng.set_base_url(base_url());
    webhooks->set_owner(weak_from_this());
    asio::co_spawn(
        ex, [self = shared_from_this()] { return self->accept_loop(); }, asio::detached);
}

void server::impl::stop()
{
    stopped = true;
    boost::system::error_code ec;
    acceptor.close(ec);
    webhooks->stop();
    for (auto* c : conns) {
        c->done = true;
        c->close();
        c->timer.cancel();
        c->delay_timer.cancel();
    }
}

asio::awaitable<void> server::impl::accept_loop()
{
    auto self = shared_from_this();
    asio::steady_timer backoff(ex);
    while (!stopped && acceptor.is_open()) {
        auto [ec, sock] = co_await acceptor.async_accept(tuple_awaitable);
        if (stopped) co_return;
        if (ec) {
            if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
            // EMFILE and friends: do not spin; try again shortly.
            backoff.expires_after(std::chrono::milliseconds(10));
            co_await backoff.async_wait(tuple_awaitable);
            continue;
        }
        boost::system::error_code ignored;
        const std::size_t cap = params.max_connections;
        if (conns.size() - admitted >= cap) {  // already as many refused as served: reset, spend nothing more
            sock.set_option(asio::socket_base::linger(true, 0), ignored);
            sock.close(ignored);
            continue;
        }
        const bool refused = admitted >= cap;
        if (!refused) ++admitted;
        sock.set_option(tcp::no_delay(true), ignored);
        if (tls) {
            auto c = std::make_shared<conn<ssl::stream<tcp::socket>>>(std::move(sock), *tls);
            c->refused = refused;
            asio::co_spawn(ex, session(c), asio::detached);
            asio::co_spawn(ex, watchdog(c), asio::detached);
        } else {
            auto c = std::make_shared<conn<tcp::socket>>(std::move(sock));
            c->refused = refused;
            asio::co_spawn(ex, session(c), asio::detached);
            asio::co_spawn(ex, watchdog(c), asio::detached);
        }
    }
}

asio::awaitable<void> server::impl::watchdog(std::shared_ptr<conn_base> c)
{
    while (!c->done) {
        c->armed = c->deadline;
        c->timer.expires_at(c->deadline);
        co_await c->timer.async_wait(tuple_awaitable);
        c->armed = clock_type::time_point::max();
        if (c->done) break;
        if (clock_type::now() >= c->deadline) {
            c->close();  // fails the pending read/write of the session, which then ends
            break;
        }
    }
}

/// Feeds buffered bytes to the parser and reads more only when it needs more: the parsing itself is
/// synchronous, so a request that arrived in one read costs no extra handler invocation.
template <class Stream, class Parser>
asio::awaitable<boost::system::error_code> read_part(Stream& stream, boost::beast::flat_buffer& buf, Parser& p,
                                                     bool header_only)
{
    for (;;) {
        if (header_only ? p.is_header_done() : p.is_done()) co_return boost::system::error_code{};
        if (buf.size() > 0) {
            boost::system::error_code ec;
            auto n = p.put(buf.data(), ec);
            buf.consume(n);
            if (ec && ec != http::error::need_more) co_return ec;
            if (!ec && n > 0) continue;
        }
        if (buf.size() >= buf.max_size()) co_return make_error_code(http::error::buffer_overflow);
        auto room = std::min<std::size_t>(16 * 1024, buf.max_size() - buf.size());
        auto [ec, n] = co_await stream.async_read_some(buf.prepare(room), tuple_awaitable);
        if (ec) co_return ec;
        buf.commit(n);
    }
}

/// Lingering close after an early 413: read and discard (bounded: 1 MiB, 1 s) what the client is still
/// sending, so it can finish writing and read the 413 instead of failing with a broken pipe.
template <class Stream>
asio::awaitable<void> drain(Stream& stream, conn_base& c, std::uint64_t declared)
{
    c.set_deadline(std::chrono::seconds(1));
    std::uint64_t left = std::min<std::uint64_t>(declared, 1024 * 1024);
    std::array<char, 4096> sink;
    while (left > 0) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), tuple_awaitable);
        if (ec) break;
        left -= std::min<std::uint64_t>(left, n);
    }
}

template <class Stream>
asio::awaitable<void> server::impl::session(std::shared_ptr<conn<Stream>> c)
{
    auto self = shared_from_this();
    auto pos = conns.insert(conns.end(), c.get());
    auto& stream = c->stream;
    constexpr bool is_tls = !std::is_same_v<Stream, tcp::socket>;
    try {
        if constexpr (is_tls) {
            c->set_deadline(params.handshake_timeout);
            auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, tuple_awaitable);
            if (ec) throw boost::system::system_error(ec);
        }
        // Bounded: request line + headers, plus room for one read of body bytes in flight.
        boost::beast::flat_buffer buf(params.header_limit + 16 * 1024);
        http_response out;
        std::string wire;
        std::size_t served = 0;
        std::optional<detail::request_parser> parser;
        auto& delay_timer = c->delay_timer;

        while (!stopped) {
            if (buf.size() == 0) {
                // Idle keep-alive wait: the only phase where closing silently is the intended behaviour.
                c->set_deadline(eng.idle_timeout());
                auto [ec, n] = co_await stream.async_read_some(buf.prepare(4096), tuple_awaitable);
                if (ec) break;
                buf.commit(n);
            }
            c->set_deadline(params.header_timeout);
            parser.emplace();
            detail::configure(*parser, params);
            auto send_error = [&](unsigned status, const char* code, const char* desc) -> asio::awaitable<void> {
                engine::error_response(status, code, desc, out);
                out.retry_after.clear();
                out.allow.clear();
                bool head = parser->is_header_done() && parser->get().method() == http::verb::head;
                serialize(out, false, false, http_date(), wire, head);
                c->set_deadline(params.write_timeout);
                co_await asio::async_write(stream, asio::buffer(wire), tuple_awaitable);
            };
            {
                auto ec = co_await read_part(stream, buf, *parser, true);
                if (ec == http::error::body_limit) {  // Content-Length above the limit, seen with the headers
                    co_await send_error(413, "request_entity_too_large", "The request body exceeds 100 KB");
                    co_await drain(stream, *c, 1024 * 1024);  // the declared length is not parsed yet
                    break;
                }
                if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
                    co_await send_error(431, "request_header_fields_too_large", "Request headers are too large");
                    break;
                }
                if (ec == http::error::end_of_stream || ec == asio::error::eof ||
                    ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor ||
                    ec == asio::error::connection_reset || c->done || !c->sock->is_open())
                    break;
                if (ec) {
                    if (is_parse_error(ec) || ec == http::error::partial_message)
                        co_await send_error(400, "bad_request", "Malformed HTTP request");
                    break;
                }
            }
            auto arrival = clock_type::now();
            auto len = parser->content_length();
            if (len && *len > params.body_limit) {
                co_await send_error(413, "request_entity_too_large", "The request body exceeds 100 KB");
                co_await drain(stream, *c, *len);
                break;
            }
            auto& hdr = parser->get();
            if (auto it = hdr.find(http::field::expect); it != hdr.end() && !parser->is_done()) {
                static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
                auto [ec, n] =
                    co_await asio::async_write(stream, asio::buffer(cont.data(), cont.size()), tuple_awaitable);
                if (ec) break;
            }
            if (!parser->is_done()) {
                c->set_deadline(params.body_timeout);
                auto ec = co_await read_part(stream, buf, *parser, false);
                if (ec == http::error::body_limit) {  // a chunked body grew past the limit
                    co_await send_error(413, "request_entity_too_large", "The request body exceeds 100 KB");
                    co_await drain(stream, *c, 1024 * 1024);  // its length is unknown: linger as for an early 413
                    break;
                }
                if (ec) {
                    if (is_parse_error(ec) && c->sock->is_open())
                        co_await send_error(400, "bad_request", "Malformed HTTP request body");
                    break;
                }
            }
            auto& req = parser->get();
            bool keep_alive = req.keep_alive();
            bool http10 = req.version() == 10;
            bool head = req.method() == http::verb::head;
            const http_request in = detail::engine_request(req, arrival);
            if (c->refused) {
                // Beyond max_connections: say so as HTTP does, and close (server_params::max_connections).
                engine::error_response(503, "service_unavailable",
                                       "Too many connections: smooch-mock serves at most " +
                                           std::to_string(params.max_connections) + " at once",
                                       out);
                out.retry_after = "1";
                out.allow.clear();
                out.fault = fault_action::none;
                out.delay = std::chrono::milliseconds(0);
                keep_alive = false;
            } else {
                eng.handle(in, out);
                webhooks->wake();  // whatever the request put in the outbox
            }
            ++served;
            auto limit = eng.close_after_requests();
            bool silent_close = limit != 0 && served >= limit;

            if (out.delay.count() > 0) {
                c->set_deadline(out.delay + params.write_timeout);
                delay_timer.expires_after(out.delay);
                co_await delay_timer.async_wait(tuple_awaitable);
                if (stopped || !c->sock->is_open()) break;
            }
            c->set_deadline(params.write_timeout);
            std::size_t header_size = serialize(out, keep_alive, http10, http_date(), wire, head);
            bool close_now = !keep_alive || silent_close;
            switch (out.fault) {
            case fault_action::reset:
                c->close(true);
                close_now = true;
                break;
            case fault_action::truncate: {
                // Keep the declared Content-Length; send at most half the body (always at least one byte short).
                auto body = wire.size() - header_size;
                co_await asio::async_write(stream, asio::buffer(wire.data(), header_size + body / 2), tuple_awaitable);
                close_now = true;
                break;
            }
            case fault_action::stall: {
                co_await asio::async_write(stream, asio::buffer(wire.data(), header_size), tuple_awaitable);
                // Send nothing more; wait for the client to give up (or idle_timeout), discarding its bytes.
                c->set_deadline(eng.idle_timeout());
                std::array<char, 1024> sink;
                for (;;) {
                    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), tuple_awaitable);
                    if (ec) break;
                }
                close_now = true;
                break;
            }
            case fault_action::close: close_now = true; [[fallthrough]];
            default: {
                auto [ec, n] = co_await asio::async_write(stream, asio::buffer(wire), tuple_awaitable);
                if (ec) close_now = true;
            }
            }
            if (close_now) break;
        }
    } catch (...) {
        // A broken connection (TLS alert, reset, bad_alloc on a huge request...) only ends this connection.
    }
    c->done = true;
    c->close();
    c->timer.cancel();
    conns.erase(pos);
    if (!c->refused) --admitted;
}

server::server(asio::any_io_executor ex, server_params p) : impl_(std::make_shared<impl>(std::move(ex), std::move(p)))
{}

server::~server() { stop(); }

void server::start() { impl_->start(); }
unsigned short server::port() const { return impl_->bound_port ? impl_->bound_port : impl_->params.port; }
std::string server::base_url() const { return impl_->base_url(); }

void server::stop()
{
    asio::dispatch(impl_->ex, [self = impl_] { self->stop(); });
}

mock::record server::record() const { return impl_->eng.snapshot(); }
void server::add_fault(fault_rule rule) { impl_->eng.add_fault(std::move(rule)); }
void server::clear_faults() { impl_->eng.clear_faults(); }
void server::set_rate_limit(std::optional<rate_limit> limit) { impl_->eng.set_rate_limit(limit); }
void server::set_close_after_requests(std::size_t n) { impl_->eng.set_close_after_requests(n); }
void server::set_idle_timeout(std::chrono::milliseconds t) { impl_->eng.set_idle_timeout(t); }
void server::reset() { impl_->eng.reset(); }
void server::set_webhook(std::optional<webhook_params> w)
{
    impl_->eng.set_webhook(std::move(w));
    asio::post(impl_->ex, [self = impl_] { self->webhooks->wake(); });
}

}  // namespace smooch::mock

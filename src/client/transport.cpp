// The transport layer: Beast HTTP/1.1 connections (TLS or loopback plain) and the pool that leases them.
// The only translation unit of the client that includes Beast.

#include "client_impl.hpp"

#include <smooch/detail/pool_state.hpp>
#include <smooch/version.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <sys/socket.h>

#include <cerrno>

namespace smooch::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct connection {
    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
    beast::flat_buffer buffer;
    std::string wire;  // the request being written, reused across requests
    std::size_t served = 0;

    beast::tcp_stream& tcp() { return plain ? *plain : beast::get_lowest_layer(*secure); }
    void close()
    {
        // Mark the TLS session as cleanly ended without sending anything: OpenSSL otherwise treats a session
        // whose connection was not shut down as bad and refuses to resume it.
        if (secure) {
            SSL_set_quiet_shutdown(secure->native_handle(), 1);
            SSL_shutdown(secure->native_handle());
            ERR_clear_error();  // a shutdown during a failed handshake leaves an error we do not want to leak
        }
        error_code ignored;
        tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
        tcp().socket().close(ignored);
    }
    // A kept-alive connection is usable only if the peer has neither closed it nor sent anything unasked.
    bool looks_alive()
    {
        char b;
        ssize_t n = ::recv(tcp().socket().native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
};
using conn_ptr = std::unique_ptr<connection>;

struct waiter {
    explicit waiter(const asio::any_io_executor& ex) : ch(ex, 1) {}
    asio::experimental::concurrent_channel<void(error_code)> ch;
    // Written under the pool mutex by whoever hands this waiter a slot.
    bool granted = false;
    grant_kind kind = grant_kind::open;
    conn_ptr conn;
};
using waiter_ptr = std::shared_ptr<waiter>;

/// Reads a response keeping only what the client uses (status, Retry-After, body): no header-field
/// container and its per-field allocations. Framing, keep-alive and limits stay Beast's.
class response_reader final : public http::basic_parser<false> {
public:
    unsigned status = 0;
    std::string retry_after;
    std::string body;

private:
    void on_request_impl(http::verb, beast::string_view, beast::string_view, int, error_code&) override {}
    void on_response_impl(int code, beast::string_view, int, error_code&) override
    {
        status = static_cast<unsigned>(code);
    }
    void on_field_impl(http::field name, beast::string_view, beast::string_view value, error_code&) override
    {
        if (name == http::field::retry_after) retry_after.assign(value.data(), value.size());
    }
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override
    {
        if (length) body.reserve(static_cast<std::size_t>(*length));  // already checked against body_limit
    }
    std::size_t on_body_impl(beast::string_view s, error_code&) override
    {
        body.append(s.data(), s.size());
        return s.size();
    }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view s, error_code&) override
    {
        body.append(s.data(), s.size());
        return s.size();
    }
    void on_finish_impl(error_code&) override {}
};

/// Waits until something is sent on `ch`, until `limit` (then `timeout_ec` arrives as if sent), or until the
/// caller's cancellation slot fires (operation_aborted). Both the pool queue and host-name lookups wait this
/// way: a plain timer that posts into the channel is cheaper than racing two operations, and works for
/// operations (Boost 1.81's resolver) that ignore cancellation slots. `keep` owns `ch` for the timer's handler.
template <class Owner, class... Rest>
asio::awaitable<std::tuple<error_code, Rest...>> receive_until(
    std::shared_ptr<Owner> keep, asio::experimental::concurrent_channel<void(error_code, Rest...)>& ch,
    clock::time_point limit, error_code timeout_ec)
{
    std::optional<asio::steady_timer> timer;
    if (limit != clock::time_point::max()) {
        timer.emplace(ch.get_executor(), limit);
        timer->async_wait([keep, &ch, timeout_ec](error_code e) {
            if (!e) ch.try_send(timeout_ec, Rest{}...);
        });
    }
    auto result = co_await ch.async_receive(use_tuple);
    if (timer) timer->cancel();
    auto& ec = std::get<0>(result);
    if (ec == asio::experimental::error::channel_cancelled || ec == asio::experimental::error::channel_closed)
        ec = asio::error::operation_aborted;  // the caller cancelled: say so, not "channel cancelled"
    co_return result;
}

clock::time_point earlier(clock::time_point a, clock::time_point b) { return a < b ? a : b; }
clock::time_point after(std::chrono::milliseconds d) { return clock::now() + d; }

void set_expiry(beast::tcp_stream& s, clock::time_point t)
{
    if (t == clock::time_point::max())
        s.expires_never();
    else
        s.expires_at(t);
}

bool is_ip_literal(const std::string& host)
{
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

} // namespace

struct transport::impl : std::enable_shared_from_this<transport::impl> {
    impl(asio::any_io_executor e, const client_params& p, const origin& o, atomic_counters& s)
        : ex(std::move(e)), params(p), base(o), stats(s), ctx(ssl::context::tls_client),
          pool(p.pool.max_connections, p.pool.max_waiters, p.pool.idle_timeout)
    {
        if (base.tls) configure_tls();
        user_agent = std::string("smooch-cpp/") + smooch::version();
    }
    ~impl()
    {
        if (session) SSL_SESSION_free(session);
    }

    void configure_tls()
    {
        ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
        // TLS 1.3 tickets arrive after the handshake; OpenSSL hands each new session to this callback.
        SSL_CTX_set_session_cache_mode(ctx.native_handle(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_set_ex_data(ctx.native_handle(), ctx_index(), this);  // not app_data: Asio owns that slot
        SSL_CTX_sess_set_new_cb(ctx.native_handle(), &impl::on_new_session);
        if (params.tls.insecure_skip_verify) {
            ctx.set_verify_mode(ssl::verify_none);
            return;
        }
        ctx.set_verify_mode(ssl::verify_peer);
        error_code ec;
        if (!params.tls.ca_file.empty()) {
            if (ctx.load_verify_file(params.tls.ca_file, ec); ec)
                bad_tls_config("tls.ca_file " + params.tls.ca_file + ": " + ec.message());
        } else if (params.tls.ca_pem.empty()) {
            ctx.set_default_verify_paths(ec);  // no system store is not fatal: verification will then fail
        }
        if (!params.tls.ca_pem.empty()) {
            if (ctx.add_certificate_authority(asio::buffer(params.tls.ca_pem), ec); ec)
                bad_tls_config("tls.ca_pem: " + ec.message());
        }
    }

    [[noreturn]] static void bad_tls_config(std::string what)
    {
        ERR_clear_error();
        diagnostics d;
        d.message = std::move(what);
        throw error(client_errc::invalid_configuration, std::move(d));
    }

    // ---- leasing -------------------------------------------------------------------------------------

    struct lease {
        conn_ptr conn;
        bool fresh = false;  // a permit to open a new connection
    };

    void close_all(std::vector<conn_ptr>& v)
    {
        for (auto& c : v) {
            c->close();
            stats.connections_discarded++;
        }
        v.clear();
    }

    void deliver(std::optional<pool_state<conn_ptr, waiter_ptr>::handoff> h)
    {
        // Fields were set under the mutex by the caller; waking happens outside it.
        if (h) h->waiter->ch.try_send(error_code{});
    }

    std::optional<pool_state<conn_ptr, waiter_ptr>::handoff> assign(
        std::optional<pool_state<conn_ptr, waiter_ptr>::handoff> h)
    {
        if (h) {
            h->waiter->granted = true;
            h->waiter->kind = h->kind;
            if (h->conn) h->waiter->conn = std::move(*h->conn);
        }
        return h;
    }

    /// Gives a connection back. Not reusable: closed, and its slot may go to a waiter.
    void release(conn_ptr c, bool reusable)
    {
        if (!reusable) {
            c->close();
            stats.connections_discarded++;
        }
        std::optional<pool_state<conn_ptr, waiter_ptr>::handoff> h;
        std::vector<conn_ptr> expired;
        {
            std::lock_guard lk(mu);
            if (stopped && reusable) {
                c->close();
                stats.connections_discarded++;
                reusable = false;
            }
            const auto now = clock::now();
            h = assign(pool.release(reusable ? std::optional<conn_ptr>(std::move(c)) : std::nullopt, reusable, now));
            // Eviction also happens here, not only on acquire: no timer of ours may keep the caller's
            // io_context busy, so traffic is what sweeps idle connections out.
            pool.evict(now, expired);
        }
        close_all(expired);
        deliver(std::move(h));
    }

    void release_permit()
    {
        std::optional<pool_state<conn_ptr, waiter_ptr>::handoff> h;
        {
            std::lock_guard lk(mu);
            h = assign(pool.release_permit());
        }
        deliver(std::move(h));
    }

    /// Waits in the pool's queue until a slot is handed over, the deadline passes, or the caller cancels.
    asio::awaitable<error_code> wait_for_slot(const waiter_ptr& w, clock::time_point deadline, std::string& message)
    {
        auto [ec] = co_await receive_until(w, w->ch, deadline, client_errc::deadline_exceeded);
        bool granted;
        {
            std::lock_guard lk(mu);
            granted = w->granted;
            if (!granted) pool.cancel_waiter(w);
        }
        if (!granted) {
            if (!ec) ec = client_errc::client_stopped;
            if (ec == client_errc::deadline_exceeded) message = "while waiting for a pooled connection";
            co_return ec;
        }
        if (ec) {  // handed a slot, but we are leaving (cancelled or timed out): give it back
            if (w->kind == grant_kind::reuse) release(std::move(w->conn), true);
            else release_permit();
        }
        co_return ec;
    }

    asio::awaitable<error_code> acquire(lease& out, clock::time_point deadline, std::string& message)
    {
        const auto io = co_await asio::this_coro::executor;
        for (unsigned tries = 0;; ++tries) {
            waiter_ptr w;
            std::vector<conn_ptr> expired;
            pool_state<conn_ptr, waiter_ptr>::grant g;
            {
                std::lock_guard lk(mu);
                if (stopped) co_return client_errc::client_stopped;
                g = pool.acquire_with(clock::now(), [&] { return w = std::make_shared<waiter>(io); }, expired);
            }
            close_all(expired);
            if (g.kind == grant_kind::queue_full) {
                message = "max_waiters (" + std::to_string(params.pool.max_waiters) + ") callers already waiting";
                co_return client_errc::pool_queue_full;
            }
            if (g.kind == grant_kind::wait) {
                stats.pool_waits++;
                if (auto ec = co_await wait_for_slot(w, deadline, message)) co_return ec;
                g.kind = w->kind;
                if (w->kind == grant_kind::reuse) g.conn = std::move(w->conn);
            }
            if (g.kind == grant_kind::open) {
                out.fresh = true;
                out.conn = std::make_unique<connection>();
                co_return error_code{};
            }
            // Reuse: a connection the peer already closed is dropped before we write a byte to it.
            if ((*g.conn)->looks_alive()) {
                out.fresh = false;
                out.conn = std::move(*g.conn);
                co_return error_code{};
            }
            release(std::move(*g.conn), false);
            if (tries > params.pool.max_connections + 1) {
                // Every kept-alive connection was dead: open a fresh one on the next round.
                continue;
            }
        }
    }

    // ---- connecting ----------------------------------------------------------------------------------

    /// Host-name lookups run on Asio's resolver thread; the caller waits with receive_until, and an abandoned
    /// lookup is cancelled and finishes on its own.
    asio::awaitable<error_code> resolve(tcp::resolver::results_type& out, clock::time_point limit,
                                        error_code timeout_ec)
    {
        {
            std::lock_guard lk(mu);
            if (dns && clock::now() < dns_expiry) {
                out = *dns;
                co_return error_code{};
            }
        }
        if (is_ip_literal(base.host)) {
            out = tcp::resolver::results_type::create(
                tcp::endpoint(asio::ip::make_address(base.host), static_cast<unsigned short>(std::stoi(base.port))),
                base.host, base.port);
        } else {
            struct lookup {
                explicit lookup(const asio::any_io_executor& e) : resolver(e), done(e, 1) {}
                tcp::resolver resolver;
                asio::experimental::concurrent_channel<void(error_code, tcp::resolver::results_type)> done;
            };
            const auto io = co_await asio::this_coro::executor;
            auto l = std::make_shared<lookup>(io);
            l->resolver.async_resolve(base.host, base.port,
                                      [l](error_code ec, tcp::resolver::results_type res) {
                                          l->done.try_send(ec, std::move(res));
                                      });
            auto [ec, res] = co_await receive_until<lookup, tcp::resolver::results_type>(l, l->done, limit, timeout_ec);
            if (ec) {
                l->resolver.cancel();
                co_return ec;
            }
            out = std::move(res);
        }
        std::lock_guard lk(mu);
        dns = out;
        dns_expiry = clock::now() + params.pool.dns_ttl;
        co_return error_code{};
    }

    void forget_dns()
    {
        std::lock_guard lk(mu);
        dns.reset();
    }

    asio::awaitable<void> connect(connection& c, clock::time_point deadline, attempt_result& r)
    {
        const auto connect_deadline = after(params.timeouts.connect);  // covers the lookup too
        const auto limit = earlier(connect_deadline, deadline);
        auto timeout_error = [&] {
            return limit == deadline ? error_code(client_errc::deadline_exceeded)
                                     : error_code(client_errc::connect_timeout);
        };
        tcp::resolver::results_type eps;
        if (auto ec = co_await resolve(eps, limit, timeout_error())) {
            r.ec = ec;
            r.message = "resolving " + base.host;
            co_return;
        }
        auto io = co_await asio::this_coro::executor;
        if (base.tls)
            c.secure.emplace(io, ctx);
        else
            c.plain.emplace(io);
        auto& s = c.tcp();
        set_expiry(s, limit);
        auto [ec, ep] = co_await s.async_connect(eps, use_tuple);
        if (ec) {
            forget_dns();
            r.ec = ec == beast::error::timeout ? timeout_error() : ec;
            r.message = "connecting to " + base.host + ":" + base.port;
            co_return;
        }
        s.socket().set_option(tcp::no_delay(true), ec);
        if (!base.tls) {
            s.expires_never();
            stats.connections_opened++;
            co_return;
        }
        SSL* ssl_handle = c.secure->native_handle();
        if (!is_ip_literal(base.host)) SSL_set_tlsext_host_name(ssl_handle, base.host.c_str());
        if (!params.tls.insecure_skip_verify) c.secure->set_verify_callback(ssl::host_name_verification(base.host));
        {
            // Each connection resumes from its own copy: OpenSSL updates the session a connection resumed from
            // (TLS 1.3 tickets arrive during SSL_read), and connections run on different threads.
            std::lock_guard lk(mu);
            if (SSL_SESSION* own = session ? SSL_SESSION_dup(session) : nullptr) {
                SSL_set_session(ssl_handle, own);  // takes its own reference
                SSL_SESSION_free(own);
            }
        }
        auto [hec] = co_await c.secure->async_handshake(ssl::stream_base::client, use_tuple);
        if (hec) {
            long v = SSL_get_verify_result(ssl_handle);
            if (v != X509_V_OK) {
                r.verify_failed = true;
                r.message = std::string("TLS certificate verification failed for ") + base.host + ": " +
                            X509_verify_cert_error_string(v);
            } else {
                r.message = "TLS handshake with " + base.host + ":" + base.port;
            }
            r.ec = hec == beast::error::timeout ? timeout_error() : hec;
            co_return;
        }
        if (SSL_session_reused(ssl_handle)) stats.tls_resumed++;
        s.expires_never();
        stats.connections_opened++;  // counted once usable: a failed handshake is neither opened nor discarded
    }

    static int ctx_index()
    {
        static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
        return index;
    }

    static int on_new_session(SSL* ssl, SSL_SESSION* s)
    {
        auto* self = static_cast<impl*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index()));
        if (!SSL_SESSION_is_resumable(s)) return 0;
        std::lock_guard lk(self->mu);
        if (self->session) SSL_SESSION_free(self->session);
        self->session = s;
        return 1;  // we keep the reference
    }

    // ---- one exchange --------------------------------------------------------------------------------

    template <class Stream>
    asio::awaitable<bool> exchange(Stream& stream, connection& c, const http_request& req,
                                   const std::string& authorization, clock::time_point deadline, bool reused,
                                   attempt_result& r)
    {
        // The request is written by hand into one reused buffer: one TLS record for head and body, and no
        // per-request header-field allocations (Beast's serializer was a fifth of the client's CPU).
        // Every piece is safe to splice: the target is percent-encoded, the credentials were checked.
        static constexpr std::string_view verbs[] = {"GET ", "POST ", "DELETE "};
        std::string& w = c.wire;
        w.clear();
        w += verbs[static_cast<int>(req.method)];
        w += base.path_prefix;
        w += req.target;
        w += " HTTP/1.1\r\nHost: ";
        w += base.host_header;
        w += "\r\nUser-Agent: ";
        w += user_agent;
        w += "\r\nAccept: application/json\r\n";
        if (!authorization.empty()) {
            w += "Authorization: ";
            w += authorization;
            w += "\r\n";
        }
        if (req.json_body) w += "Content-Type: application/json\r\n";
        if (req.method == http_method::post || !req.body.empty()) {
            w += "Content-Length: ";
            w += std::to_string(req.body.size());
            w += "\r\n";
        }
        w += "\r\n";
        w += req.body;

        const auto attempt_deadline = after(params.timeouts.attempt);
        const auto limit = earlier(attempt_deadline, deadline);
        auto timeout_error = [&] {
            return limit == deadline ? error_code(client_errc::deadline_exceeded)
                                     : error_code(client_errc::attempt_timeout);
        };
        set_expiry(c.tcp(), limit);
        auto [wec, written] = co_await asio::async_write(stream, asio::buffer(w), use_tuple);
        const bool aborted = wec == asio::error::operation_aborted || wec == beast::error::timeout;
        if (wec && (written == 0 || aborted)) {
            r.stale = reused && written == 0 && !aborted;
            r.request_sent = written > 0 || !r.stale;
            r.ec = wec == beast::error::timeout ? timeout_error() : wec;
            co_return false;
        }
        // A server may answer before reading the whole body (e.g. 413) and close: read that answer.
        r.request_sent = true;

        response_reader parser;
        parser.header_limit(static_cast<std::uint32_t>(params.max_response_header));
        parser.body_limit(params.max_response_body);
        auto [rec, read] = co_await http::async_read(stream, c.buffer, parser, use_tuple);
        if (rec) {
            if (rec == beast::error::timeout)
                r.ec = timeout_error();
            else if (rec == http::error::body_limit || rec == http::error::header_limit ||
                     rec == http::error::buffer_overflow) {
                r.ec = client_errc::response_too_large;
                r.message = rec.message();
            } else if (rec == http::error::end_of_stream || rec == asio::error::eof ||
                       rec == ssl::error::stream_truncated) {
                r.ec = client_errc::connection_closed;
                r.message = read == 0 ? "no response bytes" : "response cut short";
            } else if (rec.category() == make_error_code(http::error::bad_target).category()) {  // beast's parser errors
                r.ec = client_errc::bad_response;
                r.message = rec.message();
            } else {
                r.ec = rec;
            }
            co_return false;
        }
        c.tcp().expires_never();
        r.status = parser.status;
        r.body = std::move(parser.body);
        if (!parser.retry_after.empty()) {  // parsed once, here: the gate and the retry decision both use it
            r.has_retry_after = true;
            r.retry_after = parse_retry_after(parser.retry_after, std::chrono::system_clock::now());
        }
        // Bytes after the response were never asked for: the connection's framing can no longer be trusted.
        const bool clean = c.buffer.size() == 0;
        c.buffer.clear();
        co_return !wec && clean && parser.keep_alive();
    }

    asio::any_io_executor ex;
    client_params params;
    origin base;
    atomic_counters& stats;
    ssl::context ctx;
    std::string user_agent;

    mutable std::mutex mu;
    pool_state<conn_ptr, waiter_ptr> pool;
    std::optional<tcp::resolver::results_type> dns;
    clock::time_point dns_expiry{};
    SSL_SESSION* session = nullptr;
    bool stopped = false;
};

transport::transport(asio::any_io_executor ex, const client_params& p, const origin& o, atomic_counters& stats)
    : impl_(std::make_shared<impl>(std::move(ex), p, o, stats))
{
}

transport::~transport() { shutdown(); }

asio::awaitable<attempt_result> transport::run(const http_request& req, authorizer& auth,
                                               clock::time_point deadline, attempt_hooks& hooks)
{
    auto self = impl_;  // in-flight calls keep the pool alive
    attempt_result r;
    impl::lease l;
    if (auto ec = co_await self->acquire(l, deadline, r.message)) {
        r.ec = ec;
        co_return r;
    }
    // From here the slot must go back to the pool on every path, exceptions (cancellation) included.
    struct guard {
        impl& i;
        conn_ptr& c;
        bool fresh_unopened;
        bool reusable = false;
        ~guard()
        {
            if (fresh_unopened) i.release_permit();
            else if (c) i.release(std::move(c), reusable);
        }
    } g{*self, l.conn, l.fresh};

    if (l.fresh) {
        co_await self->connect(*l.conn, deadline, r);
        if (r.ec) co_return r;  // the guard returns the permit (the connection object never counted)
        g.fresh_unopened = false;
    } else {
        self->stats.connections_reused++;
    }
    r.connected = true;
    if (auto until = hooks.gate_closed_until(); until && *until > clock::now()) {
        r.gated_until = until;
        g.reusable = true;
        co_return r;
    }
    self->stats.attempts++;
    bool keep_alive;
    {
        // Signed now, not before the pool wait and the connect: a short-lived JWT must not expire in a queue.
        const std::string authorization = auth.header(std::chrono::system_clock::now());
        if (l.conn->secure)
            keep_alive =
                co_await self->exchange(*l.conn->secure, *l.conn, req, authorization, deadline, !l.fresh, r);
        else
            keep_alive = co_await self->exchange(*l.conn->plain, *l.conn, req, authorization, deadline, !l.fresh, r);
    }
    if (!r.ec) hooks.on_response(r);
    const auto max = self->params.pool.max_requests_per_connection;
    g.reusable = !r.ec && keep_alive && (max == 0 || ++l.conn->served < max);
    co_return r;
}

std::size_t transport::open_connections() const
{
    std::lock_guard lk(impl_->mu);
    return impl_->pool.open();
}

void transport::shutdown()
{
    std::vector<conn_ptr> idle;
    std::vector<waiter_ptr> waiters;
    {
        std::lock_guard lk(impl_->mu);
        impl_->stopped = true;
        waiters = impl_->pool.shutdown(idle);
    }
    impl_->close_all(idle);
    for (auto& w : waiters) w->ch.try_send(error_code(client_errc::client_stopped));
}

} // namespace smooch::detail

// The transport layer: Beast HTTP/1.1 connections (TLS or loopback plain) and the pool that leases them.
// The only translation unit of the client that includes Beast.

#include "client_impl.hpp"

#include "pool/pool_state.hpp"
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

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace smooch::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t plain_read_size = 16 * 1024;
constexpr std::size_t tls_read_size = 17 * 1024;  // a whole TLS record (16 KiB of data plus its overhead)
constexpr unsigned max_handshake_rounds = 100000;  // socket reads; the connect timeout bounds it in time
constexpr unsigned max_empty_reads = 100000;       // reads that yield no plaintext (tickets, key updates)

/// Ciphertext between OpenSSL and the socket. OpenSSL reads and writes it through a BIO of ours
/// (buffer_bio_method), so a request costs one SSL_write, one SSL_read per record and the socket operations:
/// no BIO pair, no error-queue sweep around every call, no timer per socket operation (Asio's ssl::stream
/// over Beast's tcp_stream spent a fifth of the client's instructions there).
struct cipher_buffers {
    beast::flat_buffer in;  // received, not yet read by OpenSSL
    bool eof = false;       // the peer closed: once `in` is drained, OpenSSL sees the end of the stream
    std::string out;        // written by OpenSSL, not yet sent
};

BIO_METHOD* buffer_bio_method()
{
    static BIO_METHOD* const method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "smooch cipher buffers");
        if (!m) throw std::bad_alloc();
        BIO_meth_set_write_ex(m, [](BIO* b, const char* data, std::size_t n, std::size_t* written) {
            BIO_clear_retry_flags(b);
            static_cast<cipher_buffers*>(BIO_get_data(b))->out.append(data, n);
            *written = n;
            return 1;
        });
        BIO_meth_set_read_ex(m, [](BIO* b, char* data, std::size_t n, std::size_t* read) {
            BIO_clear_retry_flags(b);
            auto& c = *static_cast<cipher_buffers*>(BIO_get_data(b));
            *read = 0;
            if (c.in.size() == 0) {
                if (!c.eof) BIO_set_retry_read(b);  // the caller reads the socket and asks again
                return 0;
            }
            n = std::min(n, c.in.size());
            std::memcpy(data, c.in.data().data(), n);
            c.in.consume(n);
            *read = n;
            return 1;
        });
        BIO_meth_set_ctrl(m, [](BIO*, int cmd, long, void*) -> long { return cmd == BIO_CTRL_FLUSH ? 1 : 0; });
        BIO_meth_set_create(m, [](BIO* b) {
            BIO_set_init(b, 1);
            return 1;
        });
        return m;
    }();
    return method;
}

/// OpenSSL's SSL_get_error reads the thread's error queue, so it must hold nothing stale when a call fails.
/// Peeking is cheap; sweeping the queue before every call (as Asio's engine does) is not.
void drop_stale_tls_errors()
{
    if (ERR_peek_error() != 0) ERR_clear_error();
}

/// The error of a failed SSL call, in Asio's SSL category (same codes and messages as asio::ssl::stream).
/// `peer_closed`: the socket reached its end, so a failure to read is a truncated stream.
error_code tls_error(SSL* ssl, int rc, bool peer_closed)
{
    const int e = SSL_get_error(ssl, rc);
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (e == SSL_ERROR_ZERO_RETURN) return asio::error::eof;  // close_notify
    if (code != 0 && !(peer_closed && ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING))
        return error_code(static_cast<int>(code), asio::error::get_ssl_category());
    if (peer_closed || e == SSL_ERROR_SYSCALL) return ssl::error::stream_truncated;
    return error_code(static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, ERR_R_INTERNAL_ERROR)), asio::error::get_ssl_category());
}

/// Bounds every socket operation of one phase (connect + handshake, or one exchange) with one timer. On
/// expiry the handler shuts the socket down, which fails the pending operation and any later one at once;
/// `fired` then tells the phase that this was its deadline. Shared with the handler, which may run after
/// the connection is gone; `generation` keeps a late handler of an earlier phase from acting on a later one.
struct deadline_watch {
    std::mutex mu;
    tcp::socket* socket = nullptr;  // set while a phase is armed
    std::uint64_t generation = 0;
    bool fired = false;
};

struct connection {
    explicit connection(const asio::any_io_executor& ex)
        : socket(ex), timer(ex), watch(std::make_shared<deadline_watch>())
    {
    }
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
    beast::flat_buffer buffer;  // response bytes (plaintext) not yet parsed
    std::string wire;           // the request being written, reused across requests
    std::size_t served = 0;
    asio::steady_timer timer;
    std::shared_ptr<deadline_watch> watch;

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
        timer.async_wait([w = watch, g](error_code ec) {
            if (ec) return;
            std::lock_guard lk(w->mu);
            if (!w->socket || w->generation != g) return;
            w->fired = true;
            error_code ignored;
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
    error_code received_cipher(error_code ec, std::size_t n)
    {
        cipher.in.commit(n);
        if (ec != asio::error::eof) return ec;
        cipher.eof = true;
        return {};
    }
    /// Closes the socket and opens it for `protocol`, unless the phase's deadline has passed (false).
    bool reopen(const tcp& protocol, error_code& ec)
    {
        std::lock_guard lk(watch->mu);
        if (watch->fired) return false;
        error_code ignored;
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
        error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
    }
    // A kept-alive connection is usable only if the peer has neither closed it nor sent anything unasked.
    bool looks_alive()
    {
        char b;
        ssize_t n = ::recv(socket.native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
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
                out.conn = std::make_unique<connection>(io);
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
        c.arm(limit);  // one deadline for connect and handshake
        error_code ec = eps.empty() ? error_code(asio::error::host_not_found) : error_code{};
        for (const auto& e : eps) {
            // Opened under the watch's mutex: the deadline handler never meets a socket being replaced, and
            // once it has fired no further endpoint is tried.
            if (!c.reopen(e.endpoint().protocol(), ec)) break;
            if (ec) continue;
            std::tie(ec) = co_await c.socket.async_connect(e.endpoint(), use_tuple);
            if (!ec || ec == asio::error::operation_aborted) break;  // connected, or cancelled by the caller
        }
        if (ec || c.expired()) {
            if (c.disarm()) ec = timeout_error();
            forget_dns();
            r.ec = ec;
            r.message = "connecting to " + base.host + ":" + base.port;
            co_return;
        }
        c.socket.set_option(tcp::no_delay(true), ec);
        if (!base.tls) {
            if (c.disarm()) {  // expired just as it connected: the socket is shut down
                r.ec = timeout_error();
                r.message = "connecting to " + base.host + ":" + base.port;
                co_return;
            }
            stats.connections_opened++;
            co_return;
        }
        if (auto e = start_tls(c)) {
            c.disarm();
            r.ec = e;
            r.message = "TLS setup for " + base.host;
            co_return;
        }
        auto hec = co_await handshake(c);
        if (c.disarm()) hec = timeout_error();
        if (hec) {
            long v = SSL_get_verify_result(c.ssl);
            if (v != X509_V_OK) {
                r.verify_failed = true;
                r.message = std::string("TLS certificate verification failed for ") + base.host + ": " +
                            X509_verify_cert_error_string(v);
            } else {
                r.message = "TLS handshake with " + base.host + ":" + base.port;
            }
            r.ec = hec;
            co_return;
        }
        if (SSL_session_reused(c.ssl)) stats.tls_resumed++;
        stats.connections_opened++;  // counted once usable: a failed handshake is neither opened nor discarded
    }

    /// A client TLS session over the connection's cipher buffers, checking the peer's name (or address)
    /// and resuming the last session the server gave us.
    error_code start_tls(connection& c)
    {
        drop_stale_tls_errors();
        c.ssl = SSL_new(ctx.native_handle());
        BIO* bio = c.ssl ? BIO_new(buffer_bio_method()) : nullptr;
        if (!bio) {
            const auto code = ERR_get_error();
            ERR_clear_error();
            return error_code(static_cast<int>(code), asio::error::get_ssl_category());
        }
        BIO_set_data(bio, &c.cipher);
        SSL_set_bio(c.ssl, bio, bio);  // one reference for both directions, owned by the SSL object
        SSL_set_connect_state(c.ssl);
        SSL_set_read_ahead(c.ssl, 1);  // OpenSSL takes whole buffered records, not a header then a body
        const bool literal = is_ip_literal(base.host);
        if (!literal) SSL_set_tlsext_host_name(c.ssl, base.host.c_str());
        if (!params.tls.insecure_skip_verify) {
            X509_VERIFY_PARAM* vp = SSL_get0_param(c.ssl);
            X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            const int ok = literal ? X509_VERIFY_PARAM_set1_ip_asc(vp, base.host.c_str())
                                   : X509_VERIFY_PARAM_set1_host(vp, base.host.c_str(), base.host.size());
            if (ok != 1) {
                ERR_clear_error();
                return error_code(static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, ERR_R_INTERNAL_ERROR)),
                                  asio::error::get_ssl_category());
            }
        }
        // Each connection resumes from its own copy: OpenSSL updates the session a connection resumed from
        // (TLS 1.3 tickets arrive during SSL_read), and connections run on different threads.
        std::lock_guard lk(mu);
        if (SSL_SESSION* own = session ? SSL_SESSION_dup(session) : nullptr) {
            SSL_set_session(c.ssl, own);  // takes its own reference
            SSL_SESSION_free(own);
        }
        return {};
    }

    enum class tls_step { done, want_read, end, failed };

    /// What the result `rc` of an SSL call means: done, more ciphertext needed, the peer's close_notify, or a
    /// failure (in `ec`).
    static tls_step tls_outcome(connection& c, int rc, error_code& ec)
    {
        if (rc == 1) return tls_step::done;
        if (SSL_get_error(c.ssl, rc) == SSL_ERROR_WANT_READ && !c.cipher.eof) return tls_step::want_read;
        ec = tls_error(c.ssl, rc, c.cipher.eof);
        if (ec != asio::error::eof) return tls_step::failed;
        ec = {};
        return tls_step::end;
    }

    /// Sends what OpenSSL has written to the cipher buffer (handshake; an exchange does it inline).
    static asio::awaitable<error_code> flush(connection& c)
    {
        auto [ec, n] = co_await asio::async_write(c.socket, asio::buffer(c.cipher.out), use_tuple);
        c.cipher.out.clear();
        co_return ec;
    }

    /// Reads more ciphertext from the socket; the end of the stream is noted for OpenSSL, not an error.
    static asio::awaitable<error_code> fill(connection& c)
    {
        auto [ec, n] = co_await c.socket.async_read_some(c.cipher.in.prepare(tls_read_size), use_tuple);
        co_return c.received_cipher(ec, n);
    }

    static asio::awaitable<error_code> handshake(connection& c)
    {
        for (unsigned round = 0; round < max_handshake_rounds; ++round) {
            drop_stale_tls_errors();
            error_code ec;
            const tls_step step = tls_outcome(c, SSL_do_handshake(c.ssl), ec);
            if (step == tls_step::end) ec = asio::error::eof;  // close_notify instead of a handshake
            if (!c.cipher.out.empty()) {  // our flight, or the alert that tells the server why we stop
                if (auto fec = co_await flush(c); fec && !ec) ec = fec;
            }
            if (step != tls_step::want_read || ec) co_return ec;
            if (auto fec = co_await fill(c)) co_return fec;
        }
        co_return client_errc::bad_response;  // a peer trickling its handshake a byte at a time, forever
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

    /// One SSL_read into the response buffer: plaintext (`n` bytes), or what OpenSSL needs first. Anything
    /// OpenSSL wrote meanwhile (a KeyUpdate answer, an alert) is left in c.cipher.out for the caller to send.
    static tls_step decrypt(connection& c, std::size_t& n, error_code& ec)
    {
        drop_stale_tls_errors();
        n = 0;
        const auto space = c.buffer.prepare(tls_read_size);
        const tls_step step = tls_outcome(c, SSL_read_ex(c.ssl, space.data(), space.size(), &n), ec);
        if (step == tls_step::done) c.buffer.commit(n);
        return step;
    }

    asio::awaitable<bool> exchange(connection& c, const http_request& req, const std::string& authorization,
                                   clock::time_point deadline, bool reused, attempt_result& r)
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
        c.arm(limit);
        struct disarm_on_exit {
            connection& c;
            ~disarm_on_exit() { c.disarm(); }
        } disarm_guard{c};

        error_code wec;
        std::size_t written = 0;
        if (c.ssl) {
            drop_stale_tls_errors();
            std::size_t n = 0;
            if (const int rc = SSL_write_ex(c.ssl, w.data(), w.size(), &n); rc != 1) {
                r.ec = tls_error(c.ssl, rc, c.cipher.eof);  // nothing was sent
                r.stale = reused;
                r.request_sent = false;
                co_return false;
            }
            std::tie(wec, written) = co_await asio::async_write(c.socket, asio::buffer(c.cipher.out), use_tuple);
            c.cipher.out.clear();
        } else {
            std::tie(wec, written) = co_await asio::async_write(c.socket, asio::buffer(w), use_tuple);
        }
        const bool timed_out = wec && c.expired();
        const bool aborted = wec == asio::error::operation_aborted || timed_out;
        if (wec && (written == 0 || aborted)) {
            r.stale = reused && written == 0 && !aborted;
            r.request_sent = written > 0 || !r.stale;
            r.ec = timed_out ? timeout_error() : wec;
            co_return false;
        }
        // A server may answer before reading the whole body (e.g. 413) and close: read that answer.
        r.request_sent = true;

        response_reader parser;
        parser.eager(true);
        parser.header_limit(static_cast<std::uint32_t>(params.max_response_header));
        parser.body_limit(params.max_response_body);
        error_code rec;
        std::size_t received = 0;
        // Each round parses what is buffered or reads more (at least one byte, or the end): bounded by the
        // response size limits and the deadline.
        while (!parser.is_done()) {
            if (c.buffer.size() > 0) {
                c.buffer.consume(parser.put(c.buffer.data(), rec));
                if (rec == http::error::need_more) rec = {};
                if (rec || parser.is_done()) break;
            }
            // More plaintext: read the socket (http), or decrypt what has arrived and read the socket only when
            // OpenSSL needs more (https). The coroutine's own loops: no nested coroutine frame per read.
            error_code ec;
            std::size_t n = 0;
            if (!c.ssl) {
                std::tie(ec, n) = co_await c.socket.async_read_some(c.buffer.prepare(plain_read_size), use_tuple);
                c.buffer.commit(n);
                if (ec == asio::error::eof) ec = {};
            } else {
                for (unsigned round = 0;; ++round) {
                    const tls_step step = decrypt(c, n, ec);
                    if (!c.cipher.out.empty()) {
                        auto [fec, sent] = co_await asio::async_write(c.socket, asio::buffer(c.cipher.out), use_tuple);
                        c.cipher.out.clear();
                        if (fec && step != tls_step::failed) ec = fec;
                    }
                    if (step != tls_step::want_read || ec) break;
                    if (round == max_empty_reads) {  // records without data, forever
                        ec = client_errc::bad_response;
                        break;
                    }
                    auto [rec2, m] = co_await c.socket.async_read_some(c.cipher.in.prepare(tls_read_size), use_tuple);
                    if ((ec = c.received_cipher(rec2, m))) break;
                }
            }
            received += n;
            if (ec) {
                rec = ec;
                break;
            }
            if (n == 0) {  // the peer closed: fine only for a body that runs to the end of the stream
                if (c.expired()) {  // no: our deadline shut the socket, the body may be cut short
                    rec = asio::error::timed_out;
                    break;
                }
                if (parser.got_some()) parser.put_eof(rec);
                if (!parser.is_done()) rec = http::error::end_of_stream;
                break;
            }
        }
        if (rec) {
            if (c.expired())
                r.ec = timeout_error();
            else if (rec == http::error::body_limit || rec == http::error::header_limit ||
                     rec == http::error::buffer_overflow) {
                r.ec = client_errc::response_too_large;
                r.message = rec.message();
            } else if (rec == http::error::end_of_stream || rec == http::error::partial_message ||
                       rec == asio::error::eof || rec == ssl::error::stream_truncated) {
                r.ec = client_errc::connection_closed;
                r.message = received == 0 ? "no response bytes" : "response cut short";
            } else if (rec.category() == make_error_code(http::error::bad_target).category()) {  // beast's parser errors
                r.ec = client_errc::bad_response;
                r.message = rec.message();
            } else {
                r.ec = rec;
            }
            co_return false;
        }
        r.status = parser.status;
        r.body = std::move(parser.body);
        if (!parser.retry_after.empty()) {  // parsed once, here: the gate and the retry decision both use it
            r.has_retry_after = true;
            r.retry_after = parse_retry_after(parser.retry_after, std::chrono::system_clock::now());
        }
        // Bytes after the response were never asked for: the connection's framing can no longer be trusted.
        // Over TLS that includes records already received but not yet decrypted; records that carry no data
        // (session tickets, key updates) are fine, and a close_notify ends the connection.
        bool clean = c.buffer.size() == 0;
        if (clean && c.ssl && (c.cipher.in.size() > 0 || SSL_has_pending(c.ssl) == 1)) {
            std::size_t n = 0;
            error_code ignored;
            clean = decrypt(c, n, ignored) == tls_step::want_read;  // not data, the end, or a broken record
        }
        c.buffer.clear();
        // A deadline that fired as the response completed has shut the socket down: answer kept, socket not.
        const bool expired = c.disarm();
        co_return !wec && clean && !expired && parser.keep_alive();
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
        keep_alive = co_await self->exchange(*l.conn, req, authorization, deadline, !l.fresh, r);
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

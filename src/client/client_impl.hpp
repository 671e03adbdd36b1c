#pragma once
// Internals shared by the client's translation units. Beast stays inside transport.cpp: this header only
// sees the Beast-free transport interface.

#include <smooch/client.hpp>
#include "detail/percent.hpp"
#include "pipeline/retry.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>

namespace smooch::detail {

enum class http_method { get, post, delete_ };

/// One request as the transport sends it.
struct http_request {
    http_method method = http_method::get;
    std::string target;          ///< Path and query, already percent-encoded.
    std::string body;            ///< Empty for bodiless requests.
    bool json_body = false;      ///< Send Content-Type: application/json with `body`.
};

/// What one attempt produced.
struct attempt_result {
    error_code ec;               ///< Transport or client error; empty when a response was read.
    std::string message;         ///< Extra explanation for ec (e.g. the TLS verification failure).
    unsigned status = 0;
    std::string body;
    bool has_retry_after = false;                          ///< The response carried Retry-After.
    std::optional<std::chrono::milliseconds> retry_after;  ///< Its value as the server meant it (unparsable: none).
    bool connected = false;      ///< A connection was established (false: connect/TLS failed, nothing sent).
    bool request_sent = false;   ///< Request bytes may have reached the server.
    bool stale = false;          ///< A reused connection turned out closed before any byte was written.
    bool verify_failed = false;  ///< TLS certificate or host-name verification failed (permanent).
    /// Nothing was sent: the app's rate gate closed while this call waited for a connection.
    std::optional<clock::time_point> gated_until;
};

/// Lets the pipeline act at the two moments the transport owns: with a connection leased but nothing
/// written, and with a response read but the connection not yet back in the pool. So a request never
/// slips past a gate that closed while it queued, and a 429 closes the gate before the connection frees.
struct attempt_hooks {
    /// When the app's gate is closed, the time it reopens.
    virtual std::optional<clock::time_point> gate_closed_until() = 0;
    virtual void on_response(const attempt_result& r) = 0;

protected:
    ~attempt_hooks() = default;
};

/// Monotonic counters (see smooch::counters).
struct atomic_counters {
    std::atomic<std::uint64_t> requests{0}, attempts{0}, succeeded{0}, failed{0}, connections_opened{0},
        connections_reused{0}, connections_discarded{0}, tls_resumed{0}, pool_waits{0}, stale_replays{0},
        retries_connect{0}, retries_throttled{0}, retries_server_error{0}, retries_transport{0}, responses_429{0},
        gate_waits{0}, gate_wait_ms{0};
    smooch::counters snapshot() const;
};

class transport;

/// Parsed base URL.
struct origin {
    bool tls = true;
    std::string host;        ///< Without brackets for IPv6.
    std::string port;        ///< Always set ("443" by default).
    std::string host_header; ///< As sent in Host:.
    std::string path_prefix; ///< e.g. "" or "/proxy", no trailing slash.
};

/// Parses and checks client_params::base_url (https, or http for a loopback host only).
origin parse_base_url(const std::string& url, diagnostics& diag, error_code& ec);

/// Produces the Authorization header value; signs and re-signs JWTs. Thread-safe.
class authorizer {
public:
    explicit authorizer(credentials c);
    /// Throws smooch::error(invalid_credentials) on incomplete credentials.
    void check() const;
    /// The header value, or empty for no credentials.
    std::string header(std::chrono::system_clock::time_point now);

private:
    credentials creds_;
    std::mutex mu_;
    std::string cached_;
    std::chrono::system_clock::time_point refresh_at_{};
};

/// Signs a JWT for `c` at `now` (exposed for tests against published HS256 vectors).
std::string sign_jwt(const jwt_credentials& c, std::chrono::system_clock::time_point now);
/// HS256 over "header.payload" with `secret`, base64url.
std::string hs256_signature(std::string_view signing_input, std::string_view secret);

struct client_impl : std::enable_shared_from_this<client_impl> {
    client_impl(boost::asio::any_io_executor ex, client_params p);
    ~client_impl();

    boost::asio::any_io_executor executor;
    client_params params;
    origin base;
    authorizer auth;
    atomic_counters stats;
    std::unique_ptr<transport> net;

    // Per-app rate gates and the retry budget, behind one mutex (short critical sections, no I/O).
    std::mutex gate_mu;
    std::map<std::string, rate_gate, std::less<>> gates;
    retry_budget budget;
    std::minstd_rand rng;

    /// Runs a request through gate, retries and transport. On failure sets ec and diag (and counts the call
    /// failed); on an HTTP error response also returns the status and body in `out` (diag has the API error
    /// fields). On success the caller counts the call, succeeded or failed, once it has read the body.
    boost::asio::awaitable<error_code> execute(std::string_view app_id, const http_request& req, bool idempotent,
                                               const call_options& opts, attempt_result& out, diagnostics& diag);
};

/// Reaches a client's internals from the library's other translation units (and white-box tests) without a
/// public accessor.
struct access {
    static const std::shared_ptr<client_impl>& impl(const client& c) noexcept { return c.impl_; }
};

/// The transport: connection pool + Beast connections for one origin.
class transport {
public:
    transport(boost::asio::any_io_executor ex, const client_params& p, const origin& o, atomic_counters& stats);
    ~transport();
    /// One attempt: lease a connection (waiting at most until `deadline`), send, read, return it.
    /// `deadline` is the call's overall deadline (time_point::max() for none).
    /// The Authorization header comes from `auth` once a connection is leased.
    boost::asio::awaitable<attempt_result> run(const http_request& req, authorizer& auth,
                                               clock::time_point deadline, attempt_hooks& hooks);
    std::size_t open_connections() const;
    void shutdown();

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

} // namespace smooch::detail

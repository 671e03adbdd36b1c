// SPDX-License-Identifier: BSL-1.0
#pragma once
// The contract between the request pipeline and the transport: one request, one attempt, and the two moments
// at which the pipeline acts inside an attempt. Beast-free and Asio-light, so the pipeline (and its unit tests,
// with a fake transport) never see sockets. The HTTPS transport (transport/https_transport.cpp) is the one
// production implementation; HTTP/2 could be another.

#include <smooch/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace smooch::detail {

using clock = std::chrono::steady_clock;

enum class http_method { get, post, delete_ };

/// One request as the transport sends it.
struct outgoing_request {
    http_method method = http_method::get;
    std::string target;      ///< Path and query, already percent-encoded.
    std::string body;        ///< Empty for bodiless requests.
    bool json_body = false;  ///< Send Content-Type: application/json with `body`.
};

/// What one attempt produced: everything the retry decision and the caller need.
struct attempt_result {
    error_code ec;        ///< Transport or client error; empty when a whole response was read.
    std::string message;  ///< Extra explanation for ec (e.g. the TLS verification failure).
    unsigned status = 0;  ///< HTTP status when a response was read.
    std::string body;
    bool has_retry_after = false;                          ///< The response carried Retry-After.
    std::optional<std::chrono::milliseconds> retry_after;  ///< Its value as the server meant it (unparsable: none).
    bool connected = false;      ///< A connection was established (false: connect/TLS failed, nothing sent).
    bool request_sent = false;   ///< Request bytes may have reached the server.
    bool stale = false;          ///< A reused connection turned out closed before any byte was written.
    bool verify_failed = false;  ///< TLS certificate or host-name verification failed (permanent).
    bool reused = false;         ///< It ran on a kept-alive connection.
    /// Nothing was sent: the app's rate gate closed while this call waited for a connection; it reopens then.
    std::optional<clock::time_point> gated_until;
};

/// Lets the pipeline act at the moments the transport owns: with a connection leased but nothing written, and
/// with a response read but the connection not yet back in the pool. So a request never slips past a gate that
/// closed while it queued, a JWT is signed just before it is sent, and a 429 closes the gate before the
/// connection frees.
struct attempt_hooks {
    /// A connection is leased and nothing is written yet. nullopt: send (request bytes may reach the server
    /// from now on). Otherwise the gate closed while this call queued: the time it reopens, and the transport
    /// gives the connection back unused.
    virtual std::optional<clock::time_point> may_send() = 0;
    /// Before may_send(), with the connection leased and open: waits for a budget shared with other processes
    /// (client_params::rate_source), so that its unit is spent when the bytes leave, not before a pool wait.
    /// false: refused (past the deadline, cancelled); the transport then gives the connection back unused and
    /// returns with gated_until set (nothing sent). Default: nothing to wait for.
    virtual boost::asio::awaitable<bool> before_send() { co_return true; }
    /// The Authorization header value, asked for once may_send() said yes; empty for none.
    virtual std::string authorization() = 0;
    /// A whole response was read (r.status set); the connection is not back in the pool yet.
    virtual void on_response(const attempt_result& r) = 0;

protected:
    ~attempt_hooks() = default;
};

class transport {
public:
    virtual ~transport() = default;
    /// One attempt: lease a connection (waiting at most until `deadline`, time_point::max() for none), ask
    /// `hooks`, send, read, give the connection back. Honours the awaiting coroutine's cancellation slot.
    virtual boost::asio::awaitable<attempt_result> run(const outgoing_request& req, clock::time_point deadline,
                                                       attempt_hooks& hooks) = 0;
    /// Connections currently open (connecting, idle or in use).
    virtual std::size_t open_connections() const = 0;
    /// Closes idle connections and fails queued and later callers with client_errc::client_stopped.
    virtual void shutdown() = 0;
};

}  // namespace smooch::detail

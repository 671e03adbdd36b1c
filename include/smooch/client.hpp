// SPDX-License-Identifier: BSL-1.0
#pragma once
// smooch::client: credentials, connection pool, retries and rate limits for one API origin.
// The typed operations live in <smooch/conversation_api.hpp>.

#include <smooch/error.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace smooch {

/// `Authorization: Basic base64(key_id:secret)`. An app key (`app_…`) has app scope; `act_`/`svc_` keys
/// have account scope.
struct basic_auth {
    std::string key_id;
    std::string secret;
};

/// A ready-made token, sent as `Authorization: Bearer <token>`.
struct bearer_token {
    std::string token;
};

enum class jwt_scope { app, account, app_user };

/// A JWT this library signs itself: HS256, header `{"alg":"HS256","typ":"JWT","kid":key_id}`,
/// payload `{"scope":…, "userId":… (app_user only), "iat":…, "exp":… (if lifetime)}`.
struct jwt_credentials {
    std::string key_id;  ///< Required: the `kid` header.
    std::string secret;  ///< Required: the HMAC key.
    jwt_scope scope = jwt_scope::app;
    std::string user_id;  ///< Required for app_user scope (sent as a JSON string).
    /// Token lifetime. nullopt (default): no `exp` claim, the token never expires and is signed once.
    /// With a lifetime, the token carries `exp` and is re-signed when less than a tenth of it remains.
    std::optional<std::chrono::seconds> lifetime;
};

using credentials = std::variant<std::monostate, basic_auth, bearer_token, jwt_credentials>;

/// Connection pool limits, per origin.
struct pool_params {
    /// Hard cap on open connections (connecting, idle or in use). Default 16: enough to saturate one
    /// API origin from one process without opening a connection per coroutine during fan-out.
    std::size_t max_connections = 16;
    /// Callers allowed to wait for a connection at once; one more fails with client_errc::pool_queue_full.
    /// Default 100000: bounds memory while letting large fan-outs queue.
    std::size_t max_waiters = 100000;
    /// An idle connection older than this is closed instead of reused. Default 30 s: below common
    /// server keep-alive timeouts (nginx 75 s, many load balancers 60 s), so we close first.
    std::chrono::milliseconds idle_timeout = std::chrono::seconds(30);
    /// Close a connection after this many requests (0 = unlimited). Default 0.
    std::size_t max_requests_per_connection = 0;
    /// How long a DNS answer is reused. Default 300 s. A failed connect drops the cached answer.
    std::chrono::seconds dns_ttl = std::chrono::seconds(300);
};

/// Timeouts. Each attempt runs for at most min(attempt, time left before the call's deadline).
struct timeout_params {
    /// TCP connect plus TLS handshake. Default 10 s.
    std::chrono::milliseconds connect = std::chrono::seconds(10);
    /// One request/response exchange, from the first byte written to the last byte read. Default 30 s.
    std::chrono::milliseconds attempt = std::chrono::seconds(30);
    /// The whole call: pool wait, every attempt, every backoff and rate-limit wait. Default 120 s.
    /// 0 means no overall deadline (per-operation cancellation still works).
    std::chrono::milliseconds total = std::chrono::seconds(120);
};

struct tls_params {
    /// PEM file of trusted CAs. Empty (default): the system trust store.
    std::string ca_file;
    /// PEM text of trusted CAs, added to ca_file / the system store (e.g. smooch-mock's generated CA).
    std::string ca_pem;
    /// Turns off certificate and host-name verification. Default false. Never use against a real server.
    bool insecure_skip_verify = false;
};

/// What is retried: the table in docs/retries.md. These are the knobs.
struct retry_params {
    /// Attempts per call, the first included; 1 disables retries (the free stale-connection replay still
    /// happens). Attempts answered by 429 (or 503 with Retry-After) are not counted here: see
    /// max_throttled_retries. Default 4.
    unsigned max_attempts = 4;
    /// Retries after 429 (or 503 with Retry-After) per call. The server asked us to wait, so nothing was
    /// applied and retrying is always safe; these retries are paced by the app's gate, bounded by the deadline,
    /// and draw nothing from the retry budget, so a bulk fan-out rides out throttling instead of failing
    /// after max_attempts. This cap only matters without a deadline (timeout_params::total = 0). Default 1000.
    unsigned max_throttled_retries = 1000;
    /// Backoff before retry n is uniform in [0, min(cap, base * 2^(n-1))] ("full jitter"). Default 100 ms.
    std::chrono::milliseconds backoff_base = std::chrono::milliseconds(100);
    /// Default 5 s.
    std::chrono::milliseconds backoff_cap = std::chrono::seconds(5);
    /// A server Retry-After longer than this is capped to it. Default 60 s.
    std::chrono::milliseconds max_retry_after = std::chrono::seconds(60);
    /// Retry post_message even when the server may have applied it (after a timeout, reset or 5xx).
    /// Default false: such a call fails with client_errc::outcome_unknown instead of risking a duplicate.
    bool retry_unknown_outcome = false;
    /// Retry budget: retries may not exceed budget_ratio × requests of the last budget_window plus
    /// budget_floor, so a sick server is not hammered. Defaults 0.2, 10, 10 s.
    double budget_ratio = 0.2;
    unsigned budget_floor = 10;
    std::chrono::milliseconds budget_window = std::chrono::seconds(10);
};

/// Optional client-side request rate per app (token bucket). Disabled when requests_per_second <= 0.
struct rate_limit_params {
    double requests_per_second = 0;  ///< Default 0: no client-side limit.
    double burst = 1;                ///< Bucket size, in requests. Default 1.
};

/// What the pipeline decided after an attempt (attempt_event::next).
enum class attempt_decision {
    succeed,  ///< The call succeeded with this attempt.
    replay,   ///< A reused connection was found closed before the request was written: replayed at once, free.
    retry,    ///< Retried after attempt_event::delay (at the app's gate after a 429).
    stop,     ///< The call ends with this failure (attempt_event::stop_reason says why).
};

/// One request/response exchange of a call. Views are valid during the observer call only.
struct attempt_event {
    std::string_view operation;  ///< e.g. "post_message".
    std::string_view app_id;
    unsigned attempt = 0;                                 ///< 1 for the first exchange of the call, replays included.
    std::chrono::steady_clock::time_point start;          ///< When the attempt began (before any pool wait).
    std::chrono::nanoseconds duration{0};                 ///< Pool wait, connect and exchange.
    unsigned status = 0;                                  ///< HTTP status, 0 if no response was read.
    error_code ec;                                        ///< Transport or client error; empty if a response was read.
    bool reused = false;                                  ///< It ran on a kept-alive connection.
    attempt_decision next = attempt_decision::stop;       ///< What the pipeline does next.
    std::chrono::milliseconds delay{0};                   ///< retry: the wait before the next attempt.
    smooch::stop_reason stop_reason = stop_reason::none;  ///< stop/succeed: why the call ends.
};

/// A call held at its app's gate (a pause after 429s, the ramp that reopens it, or the client-side rate limit).
struct gate_wait_event {
    std::string_view operation;
    std::string_view app_id;
    std::chrono::nanoseconds waited{0};  ///< How long it was held.
    bool cancelled = false;              ///< The caller cancelled while it waited.
};

/// An optional per-call hook: logging, tracing, metrics without a logging dependency. Called on the call's
/// executor, synchronously, possibly from several threads at once (a multi-threaded io_context): it must be
/// thread-safe, quick (it runs on the request path) and must not throw.
class rate_source;

class observer {
public:
    virtual ~observer() = default;
    virtual void on_attempt(const attempt_event&) {}
    virtual void on_gate_wait(const gate_wait_event&) {}
};

struct client_params {
    /// https://host[:port] (US: https://api.smooch.io, EU: https://api.eu-1.smooch.io). http:// is accepted
    /// only for loopback hosts (a local smooch-mock). A path prefix is allowed.
    std::string base_url = "https://api.smooch.io";
    smooch::credentials credentials;
    pool_params pool;
    timeout_params timeouts;
    tls_params tls;
    retry_params retry;
    rate_limit_params rate_limit;
    /// Largest response body accepted. Default 8 MiB (a page of 100 messages is far smaller).
    std::size_t max_response_body = 8u << 20;
    /// Largest response header block accepted. Default 16 KiB.
    std::size_t max_response_header = 16u << 10;
    /// A request budget shared with other processes (<smooch/rate_source.hpp>). Default none: only this
    /// client's own gate and rate_limit apply.
    std::shared_ptr<smooch::rate_source> rate_source;
    /// Told about every attempt and gate wait. Default none: then the pipeline spends one null check per
    /// attempt on it (measured in bench/RESULTS.md).
    std::shared_ptr<smooch::observer> observer;
};

/// Per-call overrides. Unset fields use the client's params.
struct call_options {
    std::optional<std::chrono::milliseconds> total_timeout;
    std::optional<retry_params> retry;
};

/// Monotonic counters, readable at any time from any thread.
struct counters {
    std::uint64_t requests = 0;            ///< Calls started.
    std::uint64_t attempts = 0;            ///< Request/response exchanges started (replays and retries included).
    std::uint64_t succeeded = 0;           ///< Calls that returned a value.
    std::uint64_t failed = 0;              ///< Calls that returned an error after starting (a body that
                                           ///< does not parse included); requests = succeeded + failed + in flight.
    std::uint64_t connections_opened = 0;  ///< Connections made usable (TCP, and TLS when https).
    /// Requests sent on a kept-alive connection (a lease the gate turned back unused is not one).
    std::uint64_t connections_reused = 0;
    std::uint64_t connections_discarded = 0;  ///< Closed after an error, `Connection: close`, staleness or idle age.
    std::uint64_t tls_resumed = 0;            ///< Handshakes that resumed a TLS session.
    std::uint64_t pool_waits = 0;             ///< Calls that had to queue for a connection.
    std::uint64_t stale_replays = 0;          ///< Free replays after finding a reused connection closed.
    std::uint64_t retries_connect = 0;        ///< Retries after a connect/TLS failure (nothing was sent).
    std::uint64_t retries_throttled = 0;      ///< Retries after 429, or 503 with Retry-After.
    std::uint64_t retries_server_error = 0;   ///< Retries after other 5xx.
    std::uint64_t retries_transport = 0;      ///< Retries after a timeout/reset once the request was sent.
    std::uint64_t responses_429 = 0;
    std::uint64_t gate_waits = 0;    ///< Calls that waited at a per-app rate gate.
    std::uint64_t gate_wait_ms = 0;  ///< Total time spent waiting at gates.
};

namespace detail {
struct client_impl;
struct access;
}  // namespace detail

/// One client per API origin. Thread-safe: calls may run concurrently from any thread of a
/// multi-threaded io_context. It starts no thread; all I/O runs on the executors of the coroutines that
/// call it. Destroying the client while calls are in flight is allowed: in-flight calls keep the internals
/// alive until they finish.
class client {
public:
    /// Throws smooch::error (client_errc::invalid_url / invalid_credentials / invalid_configuration) on
    /// unusable params.
    client(boost::asio::any_io_executor ex, client_params params);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    boost::asio::any_io_executor get_executor() const noexcept;
    const client_params& params() const noexcept;
    smooch::counters counters() const;
    /// Connections currently open (idle or in use).
    std::size_t open_connections() const;
    /// Closes idle connections and fails queued waiters with client_errc::client_stopped.
    void shutdown();

private:
    friend struct detail::access;
    std::shared_ptr<detail::client_impl> impl_;
};

}  // namespace smooch

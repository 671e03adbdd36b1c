// SPDX-License-Identifier: BSL-1.0
#pragma once
// A request budget shared by every process that sends to one app, kept in Redis (docs/scale-out.md).
//
// smooch::redis::rate_source implements smooch::rate_source: set it as client_params::rate_source in every
// process (on every machine) with the same url, key_prefix, rate and burst. The budget is a GCRA per app,
// updated atomically by a Redis Function (loaded with FUNCTION LOAD REPLACE on every connection) on the Redis
// server's clock, so skewed machine clocks still share one budget. Each process leases `lease` tokens per
// round trip. A 429 seen by any process pauses every process (the pause lives in the shared state).
// When Redis is unreachable or slower than its timeouts, the process falls back to fallback_share of the rate,
// tells the callback, and probes Redis again; when Redis answers, the shared budget resumes.
//
// The Redis client behind it is this library's own minimal RESP2/RESP3 client on Asio (src/redis/), on the
// executor given here. It authenticates with AUTH (username, password) but has no TLS to Redis yet (use a
// loopback or a private network, or a TLS tunnel).

#include <smooch/rate_source.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace smooch::redis {

enum class redis_errc {
    bad_url = 1,        ///< The url is not redis://host:port[/db].
    protocol_error,     ///< The server's bytes are not RESP: the connection is dropped.
    reply_too_large,    ///< A reply exceeded the parser's bound: the connection is dropped.
    server_error,       ///< Redis answered with an error reply (diagnostic text in the log callback).
    timeout,            ///< Connecting or a command took longer than its timeout.
    connection_closed,  ///< The server closed the connection.
    unexpected_reply,   ///< A well-formed reply of the wrong shape.
    auth_failed,        ///< Redis refused the credentials (WRONGPASS), or requires some and none were set (NOAUTH).
};
const boost::system::error_category& redis_category() noexcept;
inline error_code make_error_code(redis_errc e) noexcept { return {static_cast<int>(e), redis_category()}; }

struct rate_source_params {
    /// redis://host:port[/db]. Default redis://127.0.0.1:6379/0. A url with user info is refused: credentials go
    /// in `username` and `password`, which are never printed.
    std::string url = "redis://127.0.0.1:6379";
    /// Sent with AUTH on every connection, before anything else, when `password` is set. Default empty: the
    /// "default" user (Redis 6 ACLs; with an older server leave it empty: AUTH password).
    std::string username;
    /// Default empty: no AUTH (a Redis without requirepass or ACLs). A wrong one is redis_errc::auth_failed:
    /// the source falls back and says so, like for an unreachable Redis.
    std::string password;
    /// Prefix of the keys ({prefix}app:{app_id}). Default "smooch:rate:": separates campaigns or tenants
    /// sharing one Redis.
    std::string key_prefix = "smooch:rate:";
    /// The app's whole budget, requests per second, shared by all processes. Default 0: must be set (> 0).
    double rate = 0;
    /// Requests that may go at once after idleness, shared by all. Default 10. Keep it below the server's own
    /// burst: leased tokens are sent a little after Redis grants them.
    double burst = 10;
    /// Tokens leased per Redis round trip (clamped to [1, burst]). Default 20: at most 1/20 = 0.05 round trips
    /// per request; larger leases mean fewer calls but coarser sharing between processes.
    unsigned lease = 20;
    /// Leased tokens unused this long after their start are dropped (never given back): a token sent d late
    /// can add rate x d to a burst. Default 50 ms: at 500/s at most 25 more, within a server burst of 50.
    std::chrono::milliseconds lease_ttl{50};
    /// A lease may be reserved up to this far ahead (the caller sleeps until it begins). Default 1000 ms.
    std::chrono::milliseconds max_reserve{1000};
    /// TCP connect (plus the function load) timeout. Default 500 ms: past it, fall back rather than stall.
    std::chrono::milliseconds connect_timeout{500};
    /// One command's timeout. Default 200 ms. A loopback round trip is ~0.1 ms, but the reply is read on the
    /// caller's thread: a busy thread (measured: 80 ms at p99 in a loaded dispatcher) must not look like a dead
    /// Redis, because a process that falls back while the others do not sends its share on top of the budget.
    std::chrono::milliseconds command_timeout{200};
    /// While falling back, Redis is tried again this often. Default 500 ms.
    std::chrono::milliseconds probe_interval{500};
    /// Share of `rate` (and burst) this process takes while Redis is unreachable: 1/N for N processes.
    /// Default 1 (a single process). Never exceed the budget because Redis failed: set it to 1/N.
    double fallback_share = 1;
    /// Pause every process for this long after a 429 without Retry-After. Default 1000 ms: the app risks being
    /// disabled if it keeps exceeding.
    std::chrono::milliseconds throttle_pause{1000};
    /// Told when the source switches between the shared budget and the fallback (text without credentials).
    /// Default none. Called on the executor's thread; must not block.
    std::function<void(bool shared, std::string_view why)> on_mode_change;
};

/// Counters for diagnostics and benchmarks (monotonic).
struct rate_source_stats {
    std::uint64_t redis_calls = 0;        ///< FCALL round trips that completed.
    std::uint64_t redis_failures = 0;     ///< Connects or commands that failed or timed out.
    std::uint64_t granted_shared = 0;     ///< Requests let through by the shared budget.
    std::uint64_t granted_fallback = 0;   ///< Requests let through by the local fallback share.
    std::uint64_t throttles = 0;          ///< 429s reported.
    std::uint64_t round_trip_p50_us = 0;  ///< Median FCALL round trip over the last 4096, microseconds.
    std::uint64_t round_trip_p99_us = 0;  ///< 99th percentile of the same.
    bool shared = true;                   ///< Currently on the shared budget.
};

class rate_source final : public smooch::rate_source {
public:
    /// Its socket and timers live on `ex`: destroy the last copy (client_params too) before the io_context.
    /// Fails with redis_errc::bad_url or client_errc::invalid_configuration (rate <= 0, share out of (0, 1]).
    static std::shared_ptr<rate_source> create(boost::asio::any_io_executor ex, rate_source_params p, error_code& ec);
    ~rate_source() override;

    boost::asio::awaitable<error_code> acquire(std::string_view app_id, time_point deadline) override;
    void refund(std::string_view app_id) override;
    void on_throttled(std::string_view app_id, std::optional<std::chrono::milliseconds> retry_after) override;

    rate_source_stats stats() const;
    /// Closes the connection and wakes every waiter (they end with operation_aborted).
    void stop();

    struct impl;
    explicit rate_source(std::shared_ptr<impl> i);

private:
    std::shared_ptr<impl> impl_;  // shared with a Redis round trip still under way
};

}  // namespace smooch::redis

template <>
struct boost::system::is_error_code_enum<smooch::redis::redis_errc> : std::true_type {};

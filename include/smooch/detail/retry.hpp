#pragma once
// Sans-I/O retry decisions (architecture.md §3). No sockets, no timers: callers pass time points, so the
// decisions are unit-tested with a fake clock.

#include <smooch/client.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string_view>

namespace smooch::detail {

using clock = std::chrono::steady_clock;

/// What happened to one attempt, as far as retrying cares.
enum class failure_kind {
    none,              ///< 2xx.
    connect_failed,    ///< Resolve, TCP connect or TLS handshake failed (not a verification failure): nothing sent.
    stale_connection,  ///< A reused connection was found closed before any request byte was written.
    throttled,         ///< 429, or 503 with Retry-After: the server says it did not process the request.
    server_error,      ///< Other 5xx.
    transport_after_send, ///< Timeout, reset or EOF once request bytes may have reached the server.
    permanent,         ///< Other 4xx, TLS verification failure, invalid request, response too large...
    cancelled,
};

enum class verdict {
    done,          ///< Success: stop.
    replay_free,   ///< Replay at once; does not count as an attempt or against the budget.
    retry,         ///< Retry after a backoff (or Retry-After).
    fail_unknown,  ///< Stop: the outcome is unknown and the operation is not idempotent.
    fail,          ///< Stop: permanent.
};

/// The failure × operation table of architecture.md §3.
constexpr verdict classify(failure_kind f, bool idempotent, bool retry_unknown_outcome) noexcept
{
    switch (f) {
    case failure_kind::none: return verdict::done;
    case failure_kind::stale_connection: return verdict::replay_free;
    case failure_kind::connect_failed:
    case failure_kind::throttled: return verdict::retry;
    case failure_kind::server_error:
    case failure_kind::transport_after_send:
        return idempotent || retry_unknown_outcome ? verdict::retry : verdict::fail_unknown;
    case failure_kind::permanent:
    case failure_kind::cancelled: return verdict::fail;
    }
    return verdict::fail;
}

/// Full-jitter exponential backoff: uniform in [0, min(cap, base * 2^(retry-1))]. `retry` counts from 1.
template <class Rng>
std::chrono::milliseconds full_jitter(unsigned retry, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                      Rng& rng)
{
    auto ceiling = base;
    for (unsigned i = 1; i < retry && ceiling < cap; ++i) ceiling *= 2;
    if (ceiling > cap) ceiling = cap;
    if (ceiling.count() <= 0) return std::chrono::milliseconds(0);
    std::uniform_int_distribution<std::int64_t> d(0, ceiling.count());
    return std::chrono::milliseconds(d(rng));
}

/// Parses a Retry-After value (RFC 9110 §10.2.3): delta-seconds, or an HTTP-date in IMF-fixdate, RFC 850 or
/// asctime form. `now` is the current wall-clock time (HTTP-dates are wall-clock). A date in the past gives 0.
/// Returns nullopt for anything else (the caller then falls back to backoff).
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);

/// Retry budget: within a sliding window, retries <= floor + ratio × requests. Not thread-safe.
class retry_budget {
public:
    retry_budget(double ratio, unsigned floor, std::chrono::milliseconds window)
        : ratio_(ratio), floor_(floor), window_(window) {}
    void on_request(clock::time_point now) { expire(now); requests_.push_back(now); }
    /// Takes one retry from the budget if there is one.
    bool try_retry(clock::time_point now)
    {
        expire(now);
        if (static_cast<double>(retries_.size()) >= floor_ + ratio_ * static_cast<double>(requests_.size()))
            return false;
        retries_.push_back(now);
        return true;
    }

private:
    void expire(clock::time_point now)
    {
        while (!requests_.empty() && now - requests_.front() >= window_) requests_.pop_front();
        while (!retries_.empty() && now - retries_.front() >= window_) retries_.pop_front();
    }
    double ratio_;
    unsigned floor_;
    std::chrono::milliseconds window_;
    std::deque<clock::time_point> requests_, retries_;
};

/// Per-app admission: a gate closed by 429s and an optional client-side token bucket. Not thread-safe.
class rate_gate {
public:
    explicit rate_gate(rate_limit_params limit = {}) : limit_(limit), tokens_(limit.burst) {}

    /// Reserves admission for one request and returns when it may be sent (<= now: at once).
    /// Requests arriving while the gate is closed are spread over a short ramp after it reopens, so they
    /// do not all hit the server in the same instant (jitter drawn from `rng`).
    template <class Rng>
    clock::time_point admit(clock::time_point now, Rng& rng)
    {
        clock::time_point t = now;
        if (closed_until_ > now) {
            auto pause = closed_until_ - now;
            auto ramp = std::clamp<clock::duration>(pause / 4, std::chrono::milliseconds(10), std::chrono::seconds(1));
            std::uniform_int_distribution<clock::rep> d(0, ramp.count());
            t = closed_until_ + clock::duration(d(rng));
        }
        if (limit_.requests_per_second > 0) t = std::max(t, take_token(t));
        return t;
    }
    /// A 429 arrived: close the gate until `until` (Retry-After, or the backoff when the server sent none).
    void close_until(clock::time_point until) { closed_until_ = std::max(closed_until_, until); }
    clock::time_point closed_until() const noexcept { return closed_until_; }

private:
    // Token bucket that may go into debt: a request that finds it empty is scheduled when its token refills.
    clock::time_point take_token(clock::time_point now)
    {
        const double rate = limit_.requests_per_second;
        if (last_ != clock::time_point{}) {
            double elapsed = std::chrono::duration<double>(now - last_).count();
            if (elapsed > 0) tokens_ = std::min(limit_.burst, tokens_ + elapsed * rate);
        }
        if (now > last_) last_ = now;
        tokens_ -= 1;
        if (tokens_ >= 0) return now;
        return last_ + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(-tokens_ / rate));
    }
    rate_limit_params limit_;
    double tokens_;
    clock::time_point last_{};
    clock::time_point closed_until_{};
};

} // namespace smooch::detail

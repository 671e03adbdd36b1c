#pragma once
// Sans-I/O retry decisions (architecture.md §3). No sockets, no timers: callers pass time points, so the
// decisions are unit-tested with a fake clock.

#include <smooch/client.hpp>

#include "detail/token_bucket.hpp"

#include <boost/asio/error.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <array>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

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
    /// The window is kept as `slices` counters of window/slices each: memory stays constant whatever the
    /// request rate (a list of timestamps would hold rate × window entries), at the price of ageing out a
    /// slice at a time.
    static constexpr std::size_t slices = 10;

    retry_budget(double ratio, unsigned floor, std::chrono::milliseconds window)
        : ratio_(ratio), floor_(floor),
          slice_(std::max<clock::duration>(std::chrono::duration_cast<clock::duration>(window) / slices,
                                           clock::duration(1)))
    {
    }
    void on_request(clock::time_point now) { slice_at(now).requests++; }
    /// Takes one retry from the budget if there is one.
    bool try_retry(clock::time_point now)
    {
        auto& current = slice_at(now);
        const std::int64_t epoch = current.epoch;
        std::uint64_t requests = 0, retries = 0;
        for (const auto& s : ring_) {
            if (s.epoch > epoch - static_cast<std::int64_t>(slices) && s.epoch <= epoch) {
                requests += s.requests;
                retries += s.retries;
            }
        }
        if (static_cast<double>(retries) >= floor_ + ratio_ * static_cast<double>(requests)) return false;
        current.retries++;
        return true;
    }

private:
    struct slice {
        std::int64_t epoch = std::numeric_limits<std::int64_t>::min();
        std::uint64_t requests = 0, retries = 0;
    };
    slice& slice_at(clock::time_point now)
    {
        const std::int64_t epoch = now.time_since_epoch() / slice_;  // steady_clock: never negative
        auto& s = ring_[static_cast<std::size_t>(epoch) % slices];
        if (s.epoch != epoch) s = slice{epoch, 0, 0};
        return s;
    }
    double ratio_;
    unsigned floor_;
    clock::duration slice_;
    std::array<slice, slices> ring_{};
};

/// How long an app's gate closes after the n-th consecutive 429 that came without Retry-After ("equal
/// jitter"): uniform in [c/2, c] with c = min(cap, base · 2^(n-1)), so the pause always grows with the streak
/// (full jitter could draw ~0 every time). `streak` counts from 1.
template <class Rng>
std::chrono::milliseconds throttle_backoff(unsigned streak, std::chrono::milliseconds base,
                                           std::chrono::milliseconds cap, Rng& rng)
{
    auto ceiling = base;
    for (unsigned i = 1; i < streak && ceiling < cap; ++i) ceiling *= 2;
    if (ceiling > cap) ceiling = cap;
    if (ceiling.count() <= 0) return std::chrono::milliseconds(0);
    std::uniform_int_distribution<std::int64_t> d(ceiling.count() / 2, ceiling.count());
    return std::chrono::milliseconds(d(rng));
}

/// How a gate lets traffic back in after it reopens: `initial` requests in the first interval, twice as many
/// in each following one, unlimited after `doublings` intervals. The interval is a tenth of the pause,
/// clamped to [min_interval, max_interval]. Each admitted request gets a jittered time inside its interval.
struct ramp_params {
    unsigned initial = 4;
    unsigned doublings = 6;  ///< 4, 8, 16, 32, 64, 128, then unlimited.
    std::chrono::milliseconds min_interval{10};
    std::chrono::milliseconds max_interval{250};
};

/// Per-app admission: a gate closed by 429s, the ramp that reopens it, and an optional client-side token
/// bucket. Not thread-safe.
class rate_gate {
public:
    explicit rate_gate(rate_limit_params limit = {}, ramp_params ramp = {})
        : limit_(limit), ramp_(ramp), bucket_(limit.requests_per_second, limit.burst) {}

    /// Reserves admission for one request and returns when it may be sent (<= now: at once), or nullopt when
    /// that would be after `deadline` — then nothing is reserved (no token, no ramp slot).
    /// While the gate is closed, and during the ramp after it reopens, requests get slots of the ramp, so
    /// they do not all hit the server in the same instant (jitter drawn from `rng`).
    template <class Rng>
    std::optional<clock::time_point> admit(clock::time_point now, clock::time_point deadline, Rng& rng)
    {
        clock::time_point t = now;
        std::optional<std::pair<std::uint64_t, unsigned>> slot;  // (window, used) to commit
        if (ramping(now)) {
            std::uint64_t window = window_;
            unsigned used = used_;
            if (now > ramp_start_) {
                const auto k = static_cast<std::uint64_t>((now - ramp_start_) / interval_);
                if (k > window) {
                    window = k;
                    used = 0;
                }
            }
            while (window < ramp_.doublings && used >= capacity(window)) {
                ++window;
                used = 0;
            }
            if (window < ramp_.doublings) {
                std::uniform_int_distribution<clock::rep> d(0, interval_.count() - 1);
                t = std::max(now, ramp_start_ + interval_ * static_cast<clock::rep>(window) + clock::duration(d(rng)));
                slot = {window, used + 1};
            } else {
                t = std::max(now, closed_until_);  // past the ramp: unlimited again
            }
        }
        token_bucket b = bucket_;
        if (limit_.requests_per_second > 0) t = std::max(t, b.take_scheduled(t));
        if (t > deadline) return std::nullopt;
        if (slot) std::tie(window_, used_) = *slot;
        bucket_ = b;
        return t;
    }

    /// Gives back the token admit() took for a request that was never sent (cancelled at the gate, turned
    /// back because the gate closed while it queued, or failed before writing a byte).
    void refund()
    {
        if (limit_.requests_per_second > 0) bucket_.give_back();
    }

    /// A 429 answered a request sent at `sent_at`. Closes the gate until the server's Retry-After (capped at
    /// rp.max_retry_after) or, without one, for throttle_backoff() of the 429 streak, and restarts the ramp.
    /// The streak grows only for a request sent after the previous counted 429: requests already in flight
    /// when the gate closed bring no news. Returns how long the gate is now closed for.
    template <class Rng>
    std::chrono::milliseconds on_throttled(clock::time_point now, clock::time_point sent_at,
                                           std::optional<std::chrono::milliseconds> server_wait,
                                           const retry_params& rp, Rng& rng)
    {
        forget_old_streak(now);
        if (streak_ == 0 || sent_at >= last_throttle_) {
            ++streak_;
            last_throttle_ = now;
        }
        const auto d = server_wait ? std::min(*server_wait, rp.max_retry_after)
                                   : throttle_backoff(streak_, rp.backoff_base, rp.backoff_cap, rng);
        close_until(now, now + d);
        return std::chrono::ceil<std::chrono::milliseconds>(closed_until_ - now);
    }

    /// A 2xx answered a request sent at `sent_at`: one sent after the latest 429 ends the streak.
    void on_success(clock::time_point sent_at)
    {
        if (sent_at >= last_throttle_) streak_ = 0;
    }

    /// Closes the gate until `until` (never shortens it) and restarts the ramp from the reopening.
    void close_until(clock::time_point now, clock::time_point until)
    {
        if (until <= closed_until_) return;
        const auto pause = until > now ? until - now : clock::duration::zero();
        closed_until_ = until;
        interval_ = std::clamp<clock::duration>(pause / 10, ramp_.min_interval, ramp_.max_interval);
        ramp_start_ = until;
        ramp_end_ = until + interval_ * static_cast<clock::rep>(ramp_.doublings);
        last_pause_ = pause;
        window_ = 0;
        used_ = 0;
    }
    clock::time_point closed_until() const noexcept { return closed_until_; }
    unsigned streak() const noexcept { return streak_; }

    /// Nothing worth keeping: open, not ramping, no 429 streak, bucket full. Such a gate behaves exactly like
    /// a new one, so the owner may drop it.
    bool idle(clock::time_point now) const
    {
        if (closed_until_ > now || ramping(now)) return false;
        if (streak_ > 0 && !streak_forgotten(now)) return false;
        return limit_.requests_per_second <= 0 || bucket_.full(now);
    }

private:
    bool ramping(clock::time_point now) const { return ramp_end_ > now; }
    unsigned capacity(std::uint64_t window) const { return ramp_.initial << window; }
    // A streak is forgotten once the gate has stayed open, past its ramp, for as long as it was last closed
    // (and at least a second): the next 429 then starts from the shortest pause again.
    bool streak_forgotten(clock::time_point now) const
    {
        return now >= ramp_end_ + std::max<clock::duration>(last_pause_, std::chrono::seconds(1));
    }
    void forget_old_streak(clock::time_point now)
    {
        if (streak_ > 0 && streak_forgotten(now)) streak_ = 0;
    }

    rate_limit_params limit_;
    ramp_params ramp_;
    token_bucket bucket_;
    clock::time_point closed_until_{};
    // Ramp after the gate reopens: windows of `interval_` from `ramp_start_`; `used_` slots of `window_` taken.
    clock::time_point ramp_start_{}, ramp_end_{};
    clock::duration interval_{std::chrono::milliseconds(10)};
    clock::duration last_pause_{};
    std::uint64_t window_ = 0;
    unsigned used_ = 0;
    // Consecutive 429s and when the latest counted one arrived.
    unsigned streak_ = 0;
    clock::time_point last_throttle_{};
};

/// Gates are created on a request's first use of an app id. Once the table holds this many, every
/// gate_sweep_every-th new app id sweeps out idle gates, so the table never grows much beyond the apps that
/// are actually throttled or rate limited right now.
inline constexpr std::size_t gate_sweep_threshold = 256;
inline constexpr std::size_t gate_sweep_every = 64;

/// Erases every idle gate; returns how many.
template <class Map>
std::size_t sweep_idle_gates(Map& gates, clock::time_point now)
{
    std::size_t erased = 0;
    for (auto it = gates.begin(); it != gates.end();) {
        if (it->second.idle(now)) {
            it = gates.erase(it);
            ++erased;
        } else {
            ++it;
        }
    }
    return erased;
}

/// The gate of `app`, created if needed (sweeping idle gates first when the table is large).
template <class Map>
rate_gate& gate_for(Map& gates, std::string_view app, clock::time_point now, const rate_limit_params& limit)
{
    if (auto it = gates.find(app); it != gates.end()) return it->second;
    if (gates.size() >= gate_sweep_threshold && (gates.size() - gate_sweep_threshold) % gate_sweep_every == 0)
        sweep_idle_gates(gates, now);
    return gates.emplace(std::string(app), rate_gate(limit)).first->second;
}

// ------------------------------------------------------------------------------------------ retry decisions

/// One attempt as the retry loop sees it: the transport's result without the body.
struct attempt_outcome {
    error_code ec;              ///< Transport or client error; empty when a whole response was read.
    unsigned status = 0;        ///< HTTP status when a response was read.
    bool connected = false;     ///< A connection was established (false: nothing sent).
    bool request_sent = false;  ///< Request bytes may have reached the server.
    bool stale = false;         ///< A reused connection was found closed before any byte was written.
    bool verify_failed = false; ///< TLS verification failed.
    bool has_retry_after = false;                         ///< The response carried a Retry-After header.
    std::optional<std::chrono::milliseconds> retry_after; ///< Its value as the server meant it (not capped).
    std::optional<std::chrono::milliseconds> gate_wait;   ///< A 429 closed the app's gate: time until it reopens.
    std::string_view message;   ///< The transport's explanation of `ec`, if any.
};

/// Maps an attempt to the rows of the failure table.
inline failure_kind classify(const attempt_outcome& r) noexcept
{
    if (r.ec) {
        if (r.ec == boost::asio::error::operation_aborted) return failure_kind::cancelled;
        if (r.ec == client_errc::deadline_exceeded || r.ec == client_errc::pool_queue_full ||
            r.ec == client_errc::client_stopped || r.ec == client_errc::invalid_configuration || r.verify_failed)
            return failure_kind::permanent;
        if (r.stale) return failure_kind::stale_connection;
        if (!r.connected) return failure_kind::connect_failed;
        if (r.ec == client_errc::response_too_large) return failure_kind::permanent;
        return r.request_sent ? failure_kind::transport_after_send : failure_kind::connect_failed;
    }
    if (r.status >= 200 && r.status < 300) return failure_kind::none;
    if (r.status == 429 || (r.status == 503 && r.has_retry_after)) return failure_kind::throttled;
    if (r.status >= 500) return failure_kind::server_error;
    return failure_kind::permanent;
}

/// Whether the server may have applied the request: bytes may have left and no response that rules it out
/// was read (a deadline, cancellation, reset or oversized response after sending), or a 5xx other than a
/// throttle. 2xx, 4xx, 429 and 503 with Retry-After are definitive.
inline bool may_have_applied(const attempt_outcome& r, failure_kind f) noexcept
{
    if (f == failure_kind::server_error || f == failure_kind::transport_after_send) return true;
    return r.ec && r.request_sent;
}

/// What the retry loop does next.
enum class next_step {
    succeed,  ///< Done: the call succeeded.
    replay,   ///< Replay at once (the free stale-connection replay).
    retry,    ///< Wait `delay` (at the gate when `at_gate`), then try again.
    stop,     ///< Give up with `ec` and `reason`.
};

struct decision {
    next_step next = next_step::stop;
    failure_kind kind = failure_kind::none;  ///< The attempt's classification (for counters).
    std::chrono::milliseconds delay{0};      ///< retry: the wait before the next attempt; stop: the wait
                                             ///< that was computed (e.g. the one that did not fit), else 0.
    bool at_gate = false;                    ///< retry: a 429 closed the app's gate; the gate does the waiting.
    smooch::stop_reason reason = stop_reason::none;
    error_code ec;                           ///< stop: what the call returns.
    std::string message;                     ///< stop: explanation for diagnostics (empty: keep the attempt's).
};

/// The decisions of one call's retry loop (architecture.md §3, docs/retries.md), without I/O: the caller
/// feeds each attempt's outcome and the current time and gets back what to do. Not thread-safe; `budget` and
/// `rng` are the caller's (shared, so locked by the caller).
class retry_state {
public:
    retry_state(const retry_params& rp, bool idempotent, clock::time_point deadline)
        : rp_(rp), idempotent_(idempotent), deadline_(deadline) {}

    template <class Rng>
    decision on_attempt(const attempt_outcome& o, clock::time_point now, retry_budget& budget, Rng& rng)
    {
        decision d;
        d.kind = classify(o);
        ++attempts_;
        if (may_have_applied(o, d.kind)) maybe_applied_ = true;
        verdict v = classify(d.kind, idempotent_, rp_.retry_unknown_outcome);
        if (v == verdict::replay_free) {
            if (!replayed_) {
                replayed_ = true;
                --attempts_;  // free: not an attempt, not a retry
                d.next = next_step::replay;
                return d;
            }
            v = verdict::retry;  // a second dead connection in a row: back off like a connect failure
        }
        if (v == verdict::done) {
            succeeded_ = true;
            d.next = next_step::succeed;
            d.reason = stop_reason::success;
            return d;
        }
        const error_code last = o.ec ? o.ec : make_http_error(o.status);
        auto last_failure = [&] { return o.message.empty() ? last.message() : std::string(o.message); };
        if (o.ec == client_errc::deadline_exceeded) return stop(d, stop_reason::deadline, last);
        if (d.kind == failure_kind::cancelled) return stop(d, stop_reason::cancelled, last);
        if (v == verdict::fail) return stop(d, stop_reason::permanent_error, last);
        if (v == verdict::fail_unknown)
            return stop(d, stop_reason::not_idempotent, client_errc::outcome_unknown, last_failure());

        // verdict::retry
        bool server_said = false;  // the wait is the server's Retry-After
        if (o.gate_wait) {
            d.delay = *o.gate_wait;
            d.at_gate = true;
            server_said = o.retry_after.has_value();
        } else if (o.retry_after) {
            d.delay = std::min(*o.retry_after, rp_.max_retry_after);
            server_said = true;
        } else {
            d.delay = full_jitter(attempts_ - throttled_, rp_.backoff_base, rp_.backoff_cap, rng);  // failures only
        }
        // Throttled attempts were refused, not failed: they have their own cap and skip the budget (the gate
        // paces them), so a long stretch of 429s ends only at the deadline.
        const bool throttled = d.kind == failure_kind::throttled;
        if (throttled) ++throttled_;
        if (throttled ? throttled_ > rp_.max_throttled_retries : attempts_ - throttled_ >= rp_.max_attempts)
            return stop(d, stop_reason::attempts_exhausted, last);
        if (now + d.delay > deadline_) {
            if (server_said)
                return stop(d, stop_reason::deadline, client_errc::rate_limited,
                            "Retry-After exceeds the remaining deadline");
            return stop(d, stop_reason::deadline, client_errc::deadline_exceeded,
                        "the wait before retry " + std::to_string(attempts_) + " (" +
                            std::to_string(d.delay.count()) + " ms) would end after the deadline; last failure: " +
                            last_failure());
        }
        if (!throttled && !budget.try_retry(now))
            return stop(d, stop_reason::budget_exhausted, client_errc::retry_budget_exhausted,
                        "last failure: " + last_failure());
        d.next = next_step::retry;
        return d;
    }

    /// The app's gate (or client-side limit) would admit the request only after the deadline.
    decision on_gate_after_deadline()
    {
        decision d;
        return stop(d, stop_reason::deadline, client_errc::rate_limited, "the app's rate gate opens after the deadline");
    }

    /// The caller cancelled while the call waited (at the gate, in a backoff) or an exception ended it.
    decision on_cancelled(error_code ec)
    {
        decision d;
        d.kind = failure_kind::cancelled;
        return stop(d, stop_reason::cancelled, ec ? ec : error_code(boost::asio::error::operation_aborted));
    }

    /// Attempts made so far (the free replay excluded).
    unsigned attempts() const noexcept { return attempts_; }
    /// True when the call is not idempotent and some attempt may have been applied (see may_have_applied):
    /// a failed call must then report diagnostics::outcome_unknown.
    bool outcome_unknown() const noexcept { return !idempotent_ && maybe_applied_ && !succeeded_; }

private:
    static decision stop(decision& d, smooch::stop_reason r, error_code ec, std::string message = {})
    {
        d.next = next_step::stop;
        d.reason = r;
        d.ec = ec;
        d.message = std::move(message);
        d.at_gate = false;
        return d;
    }

    retry_params rp_;
    bool idempotent_;
    clock::time_point deadline_;
    unsigned attempts_ = 0;
    unsigned throttled_ = 0;  // attempts answered 429 / 503 with Retry-After
    bool replayed_ = false;
    bool maybe_applied_ = false;
    bool succeeded_ = false;
};

} // namespace smooch::detail

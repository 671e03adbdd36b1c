// SPDX-License-Identifier: BSL-1.0
#pragma once
// Per-app admission (docs/retries.md, "The per-app gate"): the pause after 429s, the ramp that reopens it, and
// the optional client-side token bucket; plus the table of gates. Sans-I/O: time and randomness are passed in.

#include <smooch/client.hpp>

#include "detail/token_bucket.hpp"
#include "pipeline/backoff.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

namespace smooch::detail {

using clock = std::chrono::steady_clock;

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
        : limit_(limit), ramp_(ramp), bucket_(limit.requests_per_second, limit.burst)
    {}

    /// A call's place in the queue of a gate that is closed or reopening: calls are admitted in the order they
    /// arrived, and keep their place when the gate turns them back (it closed again before they could send).
    /// A call served (sent) leaves the queue; after a 429 it comes back at the end, as a new arrival, so calls
    /// refused again and again take turns instead of starving the others. Owned by the call.
    struct ticket {
        std::uint64_t seq = 0;  // 0: not queued
    };

    /// Reserves admission for one request and returns when it may be sent (<= now: at once), or nullopt when
    /// that would be after `deadline` — then nothing is reserved (no token, no place). While the gate is closed,
    /// and during the ramp after it reopens, requests get slots of the ramp by their place in the queue (`tk`;
    /// without one, a request that takes the next place), jittered so they do not all hit the server in the
    /// same instant (jitter drawn from `rng`).
    template <class Rng>
    std::optional<clock::time_point> admit(clock::time_point now, clock::time_point deadline, Rng& rng,
                                           ticket* tk = nullptr)
    {
        clock::time_point t = now;
        const bool queued = ramping(now);
        const bool fresh = !tk || tk->seq == 0;
        const std::uint64_t seq = fresh ? next_seq_ + 1 : tk->seq;
        if (queued) {
            const std::uint64_t place = seq >= ramp_base_ ? seq - ramp_base_ : 0;
            const unsigned window = window_of(place);
            if (window < ramp_.doublings) {
                std::uniform_int_distribution<clock::rep> d(0, interval_.count() - 1);
                t = std::max(now, ramp_start_ + interval_ * static_cast<clock::rep>(window) + clock::duration(d(rng)));
            } else {
                t = std::max(now, closed_until_);  // past the ramp: unlimited again
            }
        }
        token_bucket b = bucket_;
        if (limit_.requests_per_second > 0) t = std::max(t, b.take_scheduled(t));
        if (t > deadline) return std::nullopt;
        if (queued && fresh) {
            next_seq_ = seq;
            if (tk) {
                tk->seq = seq;
                waiting_.insert(seq);
            }
        }
        bucket_ = b;
        return t;
    }

    /// The call holding `tk` sent its request, or ended: it leaves the queue.
    void leave(ticket& tk)
    {
        if (tk.seq) waiting_.erase(tk.seq);
        tk.seq = 0;
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
                                           std::optional<std::chrono::milliseconds> server_wait, const retry_params& rp,
                                           Rng& rng)
    {
        // Sent before the gate last closed: it brings no news (the gate closed for that already); without this,
        // each 429 of a batch in flight would restart the ramp and reshuffle the queue.
        if (sent_at < last_close_)
            return std::chrono::ceil<std::chrono::milliseconds>(closed_until_ > now ? closed_until_ - now
                                                                                    : clock::duration::zero());
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
        last_close_ = now;
        // The new ramp serves the queue from its oldest call; calls arriving later count from there.
        ramp_base_ = waiting_.empty() ? next_seq_ + 1 : *waiting_.begin();
    }
    clock::time_point closed_until() const noexcept { return closed_until_; }
    /// Closed or reopening after 429s at `now` (as opposed to holding requests for the client-side limit only).
    bool throttled(clock::time_point now) const { return closed_until_ > now || ramping(now); }
    unsigned streak() const noexcept { return streak_; }

    /// Nothing worth keeping: open, not ramping, no 429 streak, bucket full. Such a gate behaves exactly like
    /// a new one, so the owner may drop it.
    bool idle(clock::time_point now) const
    {
        if (closed_until_ > now || ramping(now) || !waiting_.empty()) return false;
        if (streak_ > 0 && !streak_forgotten(now)) return false;
        return limit_.requests_per_second <= 0 || bucket_.full(now);
    }

private:
    bool ramping(clock::time_point now) const { return ramp_end_ > now; }
    // The window of the ramp that a queue place falls in: window w holds initial · 2^w places.
    unsigned window_of(std::uint64_t place) const
    {
        std::uint64_t end = 0;
        for (unsigned w = 0; w < ramp_.doublings; ++w) {
            end += std::uint64_t{ramp_.initial} << w;
            if (place < end) return w;
        }
        return ramp_.doublings;
    }
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
    // Ramp after the gate reopens: windows of `interval_` from `ramp_start_`, filled by queue place.
    clock::time_point ramp_start_{}, ramp_end_{};
    clock::duration interval_{std::chrono::milliseconds(10)};
    clock::duration last_pause_{};
    clock::time_point last_close_{};
    // The queue: places are sequence numbers; those of calls waiting now, and where this ramp's places start.
    std::uint64_t next_seq_ = 0, ramp_base_ = 1;
    std::set<std::uint64_t> waiting_;
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
}  // namespace smooch::detail

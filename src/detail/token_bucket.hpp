// SPDX-License-Identifier: BSL-1.0
#pragma once
// The one token bucket, shared by the client's per-app rate limit (rate_gate) and smooch-mock's rate limiter.
// Sans-I/O: time is passed in. A value type: callers may try a change on a copy and commit it by assignment.

#include <algorithm>
#include <chrono>

namespace smooch::detail {

class token_bucket {
public:
    using clock = std::chrono::steady_clock;

    /// `rate` tokens per second (> 0) up to `burst`; full until its first use starts the clock.
    token_bucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

    /// Takes a token if one is there at `now`.
    bool try_take(clock::time_point now)
    {
        refill(now);
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }

    /// Takes a token even when none is left, going into debt, and returns when it is due: `now` if one was
    /// there, else the moment the refill covers it. Requests are then spaced by 1/rate.
    clock::time_point take_scheduled(clock::time_point now)
    {
        refill(now);
        tokens_ -= 1.0;
        if (tokens_ >= 0) return now;
        return last_ + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(-tokens_ / rate_));
    }

    /// How long until a whole token is there (zero if one is).
    std::chrono::duration<double> time_until_token(clock::time_point now) const
    {
        token_bucket b = *this;
        b.refill(now);
        return std::chrono::duration<double>(b.tokens_ >= 1.0 ? 0.0 : (1.0 - b.tokens_) / rate_);
    }

    /// Gives back a token taken for a request that was never sent (never above the burst).
    void give_back() { tokens_ = std::min(burst_, tokens_ + 1.0); }

    /// Full at `now`: indistinguishable from a new bucket.
    bool full(clock::time_point now) const
    {
        token_bucket b = *this;
        b.refill(now);
        return b.tokens_ >= burst_;
    }

private:
    void refill(clock::time_point now)
    {
        if (!started_) {
            started_ = true;
            last_ = now;
            return;
        }
        if (now <= last_) return;  // a caller whose `now` is older than the last one's adds nothing
        tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
        last_ = now;
    }

    double rate_, burst_, tokens_;
    clock::time_point last_{};
    bool started_ = false;
};

}  // namespace smooch::detail

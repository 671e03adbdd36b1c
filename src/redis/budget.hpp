// SPDX-License-Identifier: BSL-1.0
#pragma once
// The local half of the shared budget, sans-I/O (time passed in): the tokens leased from Redis for one app,
// when they may be used and until when, when Redis may be asked again, and the fallback share while Redis is
// unreachable. redis/rate_source.cpp does the I/O around it.

#include "detail/token_bucket.hpp"

#include <chrono>
#include <optional>

namespace smooch::detail::redis {

using steady = std::chrono::steady_clock;

struct app_budget {
    unsigned tokens = 0;             // leased, not yet used
    steady::time_point usable_from;  // the lease's start (Redis may reserve ahead)
    steady::time_point expires;      // unused tokens are dropped then: sent later they could exceed the budget
    steady::time_point not_before;   // Redis said: nothing before this; do not ask earlier
    std::optional<token_bucket> fallback;
    std::optional<std::chrono::milliseconds> pending_pause;  // a 429 to carry to Redis with the next call
};

struct verdict {
    enum class kind { go_shared, go_fallback, wait, fetch } what;
    steady::time_point until{};  // for wait
};

struct budget_config {
    double rate = 1;
    double burst = 1;
    double fallback_share = 1;
    std::chrono::milliseconds lease_ttl{100};
};

namespace budget_detail {
inline token_bucket& fallback_of(app_budget& b, const budget_config& c)
{
    if (!b.fallback) b.fallback.emplace(c.rate * c.fallback_share, std::max(1.0, c.burst * c.fallback_share));
    return *b.fallback;
}
inline steady::time_point next_token(token_bucket& f, steady::time_point now)
{
    return now + std::chrono::duration_cast<steady::duration>(f.time_until_token(now)) + std::chrono::microseconds(1);
}
}  // namespace budget_detail

/// May one request go now? Takes the token when it says go. `capped`: Redis has just come back, and other
/// processes may still be on their fallback share (until they probe it again): a shared token is then used only
/// with a fallback token too, so the sum of all processes stays under the rate.
inline verdict decide(app_budget& b, bool shared, steady::time_point now, const budget_config& c, bool capped = false)
{
    if (b.tokens > 0 && now >= b.expires) b.tokens = 0;
    if (b.tokens > 0) {
        if (now < b.usable_from) return {verdict::kind::wait, b.usable_from};
        if (capped) {
            auto& f = budget_detail::fallback_of(b, c);
            if (!f.try_take(now)) return {verdict::kind::wait, budget_detail::next_token(f, now)};
        }
        --b.tokens;
        return {verdict::kind::go_shared};
    }
    if (shared) {
        if (now < b.not_before) return {verdict::kind::wait, b.not_before};
        return {verdict::kind::fetch};
    }
    auto& f = budget_detail::fallback_of(b, c);
    if (f.try_take(now)) return {verdict::kind::go_fallback};
    return {verdict::kind::wait, budget_detail::next_token(f, now)};
}

/// Redis stopped answering: the fallback share starts empty, and in debt by the leased tokens still held
/// (they may have been reserved ahead, for time the fallback would spend a second time).
inline void on_fallback(app_budget& b, steady::time_point now, const budget_config& c)
{
    auto& f = budget_detail::fallback_of(b, c);
    for (int i = 0; i < 1000000 && f.try_take(now); ++i) {}
    for (unsigned i = 0; i < b.tokens; ++i) f.take_scheduled(now);
}

/// Redis answered: `granted` tokens usable after `delay` (or, when none, ask again after `delay`).
inline void on_lease(app_budget& b, unsigned granted, std::chrono::microseconds delay, steady::time_point now,
                     const budget_config& c)
{
    if (granted > 0) {
        b.tokens = granted;
        b.usable_from = now + delay;
        b.expires = b.usable_from + c.lease_ttl;
        b.not_before = now;
    } else {
        b.not_before = now + delay;
    }
}

/// A token granted here was not used (nothing was sent).
inline void refund(app_budget& b, bool shared, steady::time_point now)
{
    if (shared) {
        if (now < b.expires) ++b.tokens;
    } else if (b.fallback) {
        b.fallback->give_back();
    }
}

/// A 429: drop the lease (this process stops at once) and carry the pause to Redis (every process stops).
inline void on_throttled(app_budget& b, std::chrono::milliseconds pause, steady::time_point now)
{
    b.tokens = 0;
    b.pending_pause = std::max(pause, b.pending_pause.value_or(std::chrono::milliseconds(0)));
    b.not_before = now;
}

}  // namespace smooch::detail::redis

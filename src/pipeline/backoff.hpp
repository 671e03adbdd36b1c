// SPDX-License-Identifier: BSL-1.0
#pragma once
// Backoff delays, drawn from an injected random generator so tests can fix them.

#include <chrono>
#include <cstdint>
#include <random>

namespace smooch::detail {

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
}  // namespace smooch::detail

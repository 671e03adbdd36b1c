// SPDX-License-Identifier: BSL-1.0
#pragma once
// The retry budget: a sick server is not hammered by every call retrying at once.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <limits>

namespace smooch::detail {

using clock = std::chrono::steady_clock;

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
    {}
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
}  // namespace smooch::detail

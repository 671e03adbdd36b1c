// SPDX-License-Identifier: BSL-1.0
#pragma once
// A fixed-size HDR-style (log-linear) histogram of non-negative integer values (smooch-bench records
// nanoseconds). Memory is bounded and independent of the number of samples: values below 2*S are exact,
// above that every power of two [2^k, 2^(k+1)) is split into S equal sub-buckets, so a bucket is at most
// 1/S of its lowest value wide. With S = 128 a reported value is within 0.79% of the true one.

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace smooch::bench {

class hdr_histogram {
public:
    static constexpr unsigned sub_bits = 7;  // S = 2^7 = 128 sub-buckets per octave
    static constexpr std::uint64_t sub_count = 1u << sub_bits;
    static constexpr unsigned max_bits = 42;  // 2^42 ns ≈ 73 min: larger values clamp
    static constexpr std::uint64_t max_trackable = (std::uint64_t{1} << max_bits) - 1;
    // Exact range [0, 2S), then one group of S buckets for each octave from 2S up to 2^max_bits.
    static constexpr std::size_t bucket_count = 2 * sub_count + (max_bits - sub_bits - 1) * sub_count;

    void record(std::uint64_t v) noexcept
    {
        v = std::min(v, max_trackable);
        ++counts_[index_of(v)];
        ++total_;
        min_ = std::min(min_, v);
        max_ = std::max(max_, v);
        const auto d = static_cast<double>(v);
        sum_ += d;
        sum_sq_ += d * d;
    }

    /// Adds `n` samples to bucket `i` (a histogram sent as its non-empty buckets, e.g. by the libcurl peer); they
    /// count as the bucket's highest value for min, max, mean and deviation.
    void add_bucket(std::size_t i, std::uint64_t n) noexcept
    {
        if (i >= bucket_count || n == 0) return;
        counts_[i] += n;
        total_ += n;
        const std::uint64_t v = highest_of(i);
        min_ = std::min(min_, v);
        max_ = std::max(max_, v);
        const auto d = static_cast<double>(v);
        sum_ += d * static_cast<double>(n);
        sum_sq_ += d * d * static_cast<double>(n);
    }
    /// Samples in bucket `i`.
    std::uint64_t bucket(std::size_t i) const noexcept { return i < bucket_count ? counts_[i] : 0; }

    void merge(const hdr_histogram& o) noexcept
    {
        for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += o.counts_[i];
        total_ += o.total_;
        sum_ += o.sum_;
        sum_sq_ += o.sum_sq_;
        min_ = std::min(min_, o.min_);
        max_ = std::max(max_, o.max_);
    }

    std::uint64_t count() const noexcept { return total_; }
    std::uint64_t min() const noexcept { return total_ ? min_ : 0; }
    std::uint64_t max() const noexcept { return max_; }
    double mean() const noexcept { return total_ ? sum_ / static_cast<double>(total_) : 0.0; }
    double stddev() const noexcept
    {
        if (total_ == 0) return 0.0;
        const double m = mean();
        return std::sqrt(std::max(0.0, sum_sq_ / static_cast<double>(total_) - m * m));
    }
    /// Samples in the buckets up to and including the one holding `v`.
    std::uint64_t count_at_or_below(std::uint64_t v) const noexcept
    {
        const std::size_t last = index_of(std::min(v, max_trackable));
        std::uint64_t n = 0;
        for (std::size_t i = 0; i <= last; ++i) n += counts_[i];
        return n;
    }

    /// The value at percentile p (0..100]: the highest value equivalent to the bucket holding the
    /// ceil(p% * count)-th smallest sample, clamped to the exact max (so p=100 is the max).
    std::uint64_t percentile(double p) const noexcept
    {
        if (total_ == 0) return 0;
        p = std::clamp(p, 0.0, 100.0);
        auto rank = static_cast<std::uint64_t>(p / 100.0 * static_cast<double>(total_) + 0.5);
        rank = std::clamp<std::uint64_t>(rank, 1, total_);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < bucket_count; ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::min(highest_of(i), max_);
        }
        return max_;
    }

    // Bucket arithmetic, public for test/bench and for histograms sent as buckets.
    static std::size_t index_of(std::uint64_t v) noexcept
    {
        if (v < 2 * sub_count) return static_cast<std::size_t>(v);
        const unsigned msb = static_cast<unsigned>(std::bit_width(v)) - 1;  // >= sub_bits + 1
        const unsigned shift = msb - sub_bits;                              // >= 1
        const std::uint64_t sub = (v >> shift) - sub_count;                 // [0, S)
        return static_cast<std::size_t>(2 * sub_count + (shift - 1) * sub_count + sub);
    }
    static std::uint64_t lowest_of(std::size_t i) noexcept
    {
        if (i < 2 * sub_count) return i;
        const std::uint64_t j = i - 2 * sub_count;
        const unsigned shift = static_cast<unsigned>(j / sub_count) + 1;
        return (sub_count + j % sub_count) << shift;
    }
    static std::uint64_t highest_of(std::size_t i) noexcept
    {
        if (i < 2 * sub_count) return i;
        const unsigned shift = static_cast<unsigned>((i - 2 * sub_count) / sub_count) + 1;
        return lowest_of(i) + (std::uint64_t{1} << shift) - 1;
    }

private:
    std::array<std::uint64_t, bucket_count> counts_{};
    std::uint64_t total_ = 0;
    std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t max_ = 0;
    double sum_ = 0;
    double sum_sq_ = 0;
};

}  // namespace smooch::bench

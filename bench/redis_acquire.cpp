// SPDX-License-Identifier: BSL-1.0
// smooch-bench-redis: the cost of smooch::redis::rate_source against a running redis-server (docs/scale-out.md).
//   smooch-bench-redis --redis redis://127.0.0.1:6379 [--n 20000] [--lease L]
// Acquires N units one after another with a budget far above what one process can use (so no pacing wait
// enters the figures) and prints the acquisition latency p50/p99/max and the Redis round trips per unit.

#include <smooch/redis.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

int main(int argc, char** argv)
{
    std::string url = "redis://127.0.0.1:6379";
    long n = 20000;
    unsigned lease = 20;
    const char* usage = "usage: smooch-bench-redis [--redis URL] [--n N] [--lease L]\n";
    for (int i = 1; i < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--help") {
            std::fputs(usage, stdout);
            return 0;
        }
        long number = 0;  // stays 0 (refused) unless the whole value is a number
        if (i + 1 < argc) {
            const std::string_view v = argv[i + 1];
            if (std::from_chars(v.data(), v.data() + v.size(), number).ptr != v.data() + v.size()) number = 0;
        }
        if (a == "--redis" && i + 1 < argc) url = argv[i + 1];
        else if (a == "--n" && number > 0) n = number;
        else if (a == "--lease" && number > 0) lease = static_cast<unsigned>(number);
        else {  // an unknown flag, a missing value or a number that is not positive
            std::fprintf(stderr, "smooch-bench-redis: bad argument '%s'\n%s", a.c_str(), usage);
            return 2;
        }
    }
    boost::asio::io_context io(1);
    smooch::redis::rate_source_params p;
    p.url = url;
    p.key_prefix = "smooch:bench:" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ":";
    p.rate = 1e6;  // far above one process: measures the mechanism, not the pacing
    p.burst = 1000;
    p.lease = lease;
    smooch::error_code ec;
    auto rs = smooch::redis::rate_source::create(io.get_executor(), p, ec);
    if (!rs) {
        std::fprintf(stderr, "smooch-bench-redis: %s\n", ec.message().c_str());
        return 2;
    }
    std::vector<double> us;
    us.reserve(static_cast<std::size_t>(n));
    int failed = 0;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            for (long i = 0; i < n; ++i) {
                const auto t0 = std::chrono::steady_clock::now();
                if (co_await rs->acquire("bench_app", smooch::rate_source::time_point::max())) ++failed;
                us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
            }
            rs->stop();
        },
        boost::asio::detached);
    io.run();
    std::sort(us.begin(), us.end());
    const auto st = rs->stats();
    auto at = [&](double q) { return us[std::min(us.size() - 1, static_cast<std::size_t>(q * double(us.size())))]; };
    std::printf("lease %u, %ld acquires: latency p50 %.1f us, p99 %.1f us, max %.1f us; Redis round trips %llu "
                "(%.4f per unit; each p50 %llu us, p99 %llu us); fallback grants %llu; failures %d\n",
                lease, n, at(0.5), at(0.99), us.back(), static_cast<unsigned long long>(st.redis_calls),
                double(st.redis_calls) / double(n), static_cast<unsigned long long>(st.round_trip_p50_us),
                static_cast<unsigned long long>(st.round_trip_p99_us),
                static_cast<unsigned long long>(st.granted_fallback), failed);
    return failed || st.granted_fallback ? 1 : 0;
}

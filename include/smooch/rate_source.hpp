// SPDX-License-Identifier: BSL-1.0
#pragma once
// A request budget shared beyond this process: several dispatchers (or servers) that send to one app on
// different machines must together stay under the app's rate limit. Set client_params::rate_source; the
// pipeline then asks it before every request to an app, on top of the per-app gate (429 pauses) and the local
// client-side limit. smooch::redis::rate_source (<smooch/redis.hpp>) is the implementation over Redis.

#include <smooch/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string_view>

namespace smooch {

class rate_source {
public:
    using time_point = std::chrono::steady_clock::time_point;
    virtual ~rate_source() = default;

    /// Waits until one request to `app_id` may be sent, on the awaiting coroutine's executor, and takes it.
    /// Completes with no error when it may go; with client_errc::rate_limited when the budget cannot grant it
    /// before `deadline` (time_point::max(): none); with operation_aborted when the caller cancels. It must not
    /// wait on anything slower than its own timeouts (a budget that cannot reach its store falls back to a local
    /// share instead of stalling).
    virtual boost::asio::awaitable<error_code> acquire(std::string_view app_id, time_point deadline) = 0;

    /// A request that acquire() let through was never sent (cancelled, turned back by a closed gate, failed
    /// to connect): its unit may go back. Called at most once per acquire().
    virtual void refund(std::string_view app_id) = 0;

    /// The server refused a request to `app_id` with 429 (with the server's Retry-After, if it sent one): slow
    /// every user of the budget down, not only this process.
    virtual void on_throttled(std::string_view app_id, std::optional<std::chrono::milliseconds> retry_after) = 0;
};

} // namespace smooch

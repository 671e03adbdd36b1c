// SPDX-License-Identifier: BSL-1.0
#pragma once
// The pipeline's time, injectable (as google-cloud-cpp's retry loop takes a Sleeper "to verify in tests"):
// production uses steady_clock and an Asio timer; the unit tests of the pipeline use a fake that jumps.

#include <smooch/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>

namespace smooch::detail {

class pipeline_clock {
public:
    using time_point = std::chrono::steady_clock::time_point;
    virtual ~pipeline_clock() = default;
    virtual time_point now() = 0;
    /// Waits until `t` on the awaiting coroutine's executor. operation_aborted when the caller cancels, also
    /// when it had cancelled before the wait began.
    virtual boost::asio::awaitable<error_code> sleep_until(time_point t) = 0;
};

/// steady_clock and a steady_timer per wait (waits are rare: backoffs and gate pauses). Stateless, shared.
pipeline_clock& steady_pipeline_clock();

}  // namespace smooch::detail

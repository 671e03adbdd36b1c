// SPDX-License-Identifier: BSL-1.0
#pragma once
// Waiting on a channel with a deadline and the caller's cancellation: how the pool queue and host-name lookups
// wait. A plain timer that posts into the channel is cheaper than racing two operations, and works for
// operations (Boost 1.81's resolver) that ignore cancellation slots.

#include <smooch/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/channel_error.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <tuple>

namespace smooch::detail {

/// Waits until something is sent on `ch`, until `limit` (then `timeout_ec` arrives as if sent), or until the
/// caller's cancellation slot fires (operation_aborted). `keep` owns `ch` for the timer's handler. Timer is
/// asio::steady_timer in production (a test timer in unit tests): constructible from (executor, time_point),
/// with async_wait(handler) and cancel().
template <class Timer, class Owner, class... Rest>
boost::asio::awaitable<std::tuple<error_code, Rest...>> receive_until(
    std::shared_ptr<Owner> keep, boost::asio::experimental::concurrent_channel<void(error_code, Rest...)>& ch,
    std::chrono::steady_clock::time_point limit, error_code timeout_ec)
{
    std::optional<Timer> timer;
    if (limit != std::chrono::steady_clock::time_point::max()) {
        timer.emplace(ch.get_executor(), limit);
        timer->async_wait([keep, &ch, timeout_ec](error_code e) {
            if (!e) ch.try_send(timeout_ec, Rest{}...);
        });
    }
    auto result = co_await ch.async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (timer) timer->cancel();
    auto& ec = std::get<0>(result);
    if (ec == boost::asio::experimental::error::channel_cancelled ||
        ec == boost::asio::experimental::error::channel_closed)
        ec = boost::asio::error::operation_aborted;  // the caller cancelled: say so, not "channel cancelled"
    co_return result;
}

}  // namespace smooch::detail

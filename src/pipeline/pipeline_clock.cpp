// SPDX-License-Identifier: BSL-1.0
#include "pipeline/pipeline_clock.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace smooch::detail {
namespace {

namespace asio = boost::asio;

class steady_time final : public pipeline_clock {
public:
    time_point now() override { return std::chrono::steady_clock::now(); }
    asio::awaitable<error_code> sleep_until(time_point t) override
    {
        try {
            asio::steady_timer timer(co_await asio::this_coro::executor, t);
            auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
            co_return ec;
        } catch (const boost::system::system_error& e) {
            // Asio throws instead of waiting when the caller had already cancelled.
            co_return e.code() ? e.code() : error_code(asio::error::operation_aborted);
        }
    }
};

}  // namespace

pipeline_clock& steady_pipeline_clock()
{
    static steady_time t;
    return t;
}

}  // namespace smooch::detail

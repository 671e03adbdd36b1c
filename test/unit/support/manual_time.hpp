// SPDX-License-Identifier: BSL-1.0
#pragma once
// Time under a test's control, for unit tests of the I/O drivers (pool, pipeline) without real timers:
// a clock that only moves when told, and a timer whose handlers run when the clock passes their expiry.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>

namespace smooch::test {

struct manual_clock {
    using time_point = std::chrono::steady_clock::time_point;
    static inline time_point current = time_point{} + std::chrono::hours(1000);
    static time_point now() { return current; }
};

/// Pending waits of every manual_timer, run by advance().
class manual_timers {
public:
    using handler = std::function<void(boost::system::error_code)>;
    static std::uint64_t add(boost::asio::any_io_executor ex, manual_clock::time_point at, handler h)
    {
        const auto id = ++next_;
        pending()[id] = {std::move(ex), at, std::move(h)};
        return id;
    }
    /// Completes the wait `id` with operation_aborted (posted, as Asio does), if it is still pending.
    static void cancel(std::uint64_t id)
    {
        auto it = pending().find(id);
        if (it == pending().end()) return;
        complete(it, boost::asio::error::operation_aborted);
    }
    /// Moves the clock to `t` and posts the handlers of every wait due by then.
    static void advance_to(manual_clock::time_point t)
    {
        manual_clock::current = t;
        for (auto it = pending().begin(); it != pending().end();) {
            auto next = std::next(it);
            if (it->second.at <= t) complete(it, {});
            it = next;
        }
    }
    static std::size_t waiting() { return pending().size(); }

private:
    struct entry {
        boost::asio::any_io_executor ex;
        manual_clock::time_point at;
        handler h;
    };
    static std::map<std::uint64_t, entry>& pending()
    {
        static std::map<std::uint64_t, entry> p;
        return p;
    }
    static void complete(std::map<std::uint64_t, entry>::iterator it, boost::system::error_code ec)
    {
        auto e = std::move(it->second);
        pending().erase(it);
        boost::asio::post(e.ex, [h = std::move(e.h), ec] { h(ec); });
    }
    static inline std::uint64_t next_ = 0;
};

/// The subset of asio::steady_timer that receive_until uses, driven by manual_timers.
class manual_timer {
public:
    manual_timer(boost::asio::any_io_executor ex, manual_clock::time_point at) : ex_(std::move(ex)), at_(at) {}
    ~manual_timer() { cancel(); }
    manual_timer(const manual_timer&) = delete;
    manual_timer& operator=(const manual_timer&) = delete;

    template <class Handler>
    void async_wait(Handler&& h)
    {
        id_ = manual_timers::add(ex_, at_, std::forward<Handler>(h));
    }
    void cancel()
    {
        if (id_) manual_timers::cancel(id_);
        id_ = 0;
    }

private:
    boost::asio::any_io_executor ex_;
    manual_clock::time_point at_;
    std::uint64_t id_ = 0;
};

}  // namespace smooch::test

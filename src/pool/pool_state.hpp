#pragma once
// Sans-I/O bookkeeping of one connection pool: a hard cap on connections, FIFO waiters with a bound, and
// idle connections with their last-use time. Conn and Waiter are opaque handles; time is passed in.
// Not thread-safe: the owner serialises calls (a mutex in the transport).
//
// Lifecycle of a slot: acquire() -> open (the caller connects) or reuse -> release() -> idle or closed.

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

namespace smooch::detail {

/// What acquire() gives: an idle connection, a permit to open one, a place in the queue, or a refusal.
enum class grant_kind { reuse, open, wait, queue_full };

template <class Conn, class Waiter>
class pool_state {
public:
    using time_point = std::chrono::steady_clock::time_point;
    struct grant {
        grant_kind kind;
        std::optional<Conn> conn;  ///< For reuse.
    };
    /// A waiter that must now be woken with a connection (reuse) or a permit to open one.
    struct handoff {
        Waiter waiter;
        grant_kind kind;           ///< reuse or open.
        std::optional<Conn> conn;
    };

    pool_state(std::size_t max_connections, std::size_t max_waiters, std::chrono::milliseconds idle_timeout)
        : max_(max_connections ? max_connections : 1), max_waiters_(max_waiters), idle_timeout_(idle_timeout) {}

    /// Takes the most recently used live idle connection, or a permit to open one, or queues `w`.
    /// Idle connections past idle_timeout are moved to `expired` (the caller closes them).
    grant acquire(time_point now, const Waiter& w, std::vector<Conn>& expired)
    {
        return acquire_with(now, [&] { return w; }, expired);
    }

    /// As acquire(), but the waiter is made by `make_waiter()` only when the caller has to queue: the
    /// common paths (reuse, open) allocate nothing.
    template <class MakeWaiter>
    grant acquire_with(time_point now, MakeWaiter&& make_waiter, std::vector<Conn>& expired)
    {
        evict(now, expired);
        if (!idle_.empty()) {
            Conn c = std::move(idle_.back().first);
            idle_.pop_back();
            return {grant_kind::reuse, std::move(c)};
        }
        if (open_ < max_) {
            ++open_;
            return {grant_kind::open, std::nullopt};
        }
        if (waiters_.size() >= max_waiters_) return {grant_kind::queue_full, std::nullopt};
        waiters_.push_back(make_waiter());
        return {grant_kind::wait, std::nullopt};
    }

    /// Returns a connection. `reusable` false closes its slot. May hand the slot to the first waiter.
    std::optional<handoff> release(std::optional<Conn> c, bool reusable, time_point now)
    {
        if (!reusable) {
            --open_;
            return grant_slot_to_waiter();
        }
        if (!waiters_.empty()) {
            Waiter w = std::move(waiters_.front());
            waiters_.pop_front();
            return handoff{std::move(w), grant_kind::reuse, std::move(c)};
        }
        idle_.emplace_back(std::move(*c), now);
        return std::nullopt;
    }

    /// An opened connection failed to connect, or a waiter gave back a permit it can no longer use.
    std::optional<handoff> release_permit() { --open_; return grant_slot_to_waiter(); }

    /// Removes a waiter that gave up (cancelled or timed out). False if it was already handed a slot.
    bool cancel_waiter(const Waiter& w)
    {
        for (auto it = waiters_.begin(); it != waiters_.end(); ++it)
            if (*it == w) { waiters_.erase(it); return true; }
        return false;
    }

    /// Closes every idle connection (moved to `out`) and returns every waiter (to be failed).
    std::vector<Waiter> shutdown(std::vector<Conn>& out)
    {
        for (auto& i : idle_) out.push_back(std::move(i.first));
        open_ -= idle_.size();
        idle_.clear();
        std::vector<Waiter> w(waiters_.begin(), waiters_.end());
        waiters_.clear();
        return w;
    }

    void evict(time_point now, std::vector<Conn>& expired)
    {
        // idle_ is ordered by last use: the oldest are at the front.
        while (!idle_.empty() && now - idle_.front().second >= idle_timeout_) {
            expired.push_back(std::move(idle_.front().first));
            idle_.pop_front();
            --open_;
        }
    }

    std::size_t open() const noexcept { return open_; }
    std::size_t idle() const noexcept { return idle_.size(); }
    std::size_t waiting() const noexcept { return waiters_.size(); }
    std::size_t max_connections() const noexcept { return max_; }

private:
    std::optional<handoff> grant_slot_to_waiter()
    {
        if (waiters_.empty()) return std::nullopt;
        Waiter w = std::move(waiters_.front());
        waiters_.pop_front();
        ++open_;
        return handoff{std::move(w), grant_kind::open, std::nullopt};
    }

    std::size_t max_, max_waiters_;
    std::chrono::milliseconds idle_timeout_;
    std::size_t open_ = 0;  // connecting + idle + in use
    std::deque<std::pair<Conn, time_point>> idle_;
    std::deque<Waiter> waiters_;
};

} // namespace smooch::detail

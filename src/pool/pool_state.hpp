// SPDX-License-Identifier: BSL-1.0
#pragma once
// Sans-I/O bookkeeping of one connection pool: a hard cap on connections, FIFO waiters with a bound, and
// idle connections with their last-use time, partitioned by execution context. Conn, Waiter and Key are opaque
// handles; time is passed in. Not thread-safe: the owner serialises calls (a mutex in basic_pool).
//
// Why partitions: a connection's socket and timer belong to the io_context of the call that opened it, and
// only calls on that context may use it, so that stopping (or destroying) one io_context never strands a call
// made on another (docs/client.md, "Executors"). The cap stays global. A call reuses an idle connection of its
// own context; without one it opens a new connection under the cap, or takes the slot of another context's
// idle connection (which is closed), or waits. A returned connection goes to the first waiter of its context
// unless that context holds more than its fair share (max / contexts in use) while another context's caller
// waits longer: then its slot moves to that caller, so no context starves another.
//
// Lifecycle of a slot: acquire() -> open (the caller connects) or reuse -> release() -> idle, handed on, or closed.

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace smooch::detail {

/// What acquire() gives: an idle connection, a permit to open one, a place in the queue, or a refusal.
enum class grant_kind { reuse, open, wait, queue_full };

template <class Conn, class Waiter, class Key = const void*>
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
        grant_kind kind;  ///< reuse or open.
        std::optional<Conn> conn;
    };

    pool_state(std::size_t max_connections, std::size_t max_waiters, std::chrono::milliseconds idle_timeout)
        : max_(max_connections ? max_connections : 1), max_waiters_(max_waiters), idle_timeout_(idle_timeout)
    {}

    /// For a caller on context `key`: its most recently used idle connection, or a permit to open one (under the
    /// cap, or in place of another context's idle connection, moved to `expired`), or a place in the queue
    /// (`w`). Idle connections past idle_timeout are moved to `expired` too (the caller closes them).
    grant acquire(time_point now, Key key, const Waiter& w, std::vector<Conn>& expired)
    {
        return acquire_with(
            now, key, [&] { return w; }, expired);
    }

    /// As acquire(), but the waiter is made by `make_waiter()` only when the caller has to queue: the common
    /// paths (reuse, open) allocate nothing.
    template <class MakeWaiter>
    grant acquire_with(time_point now, Key key, MakeWaiter&& make_waiter, std::vector<Conn>& expired)
    {
        evict(now, expired);
        auto& mine = parts_[key];
        if (!mine.idle.empty()) {
            Conn c = std::move(mine.idle.back().first);
            mine.idle.pop_back();
            return {grant_kind::reuse, std::move(c)};
        }
        if (open_ < max_) {
            ++open_;
            ++mine.open;
            return {grant_kind::open, std::nullopt};
        }
        if (auto* other = least_recently_used_elsewhere(key)) {
            expired.push_back(std::move(other->idle.front().first));
            other->idle.pop_front();
            --other->open;
            ++mine.open;
            return {grant_kind::open, std::nullopt};
        }
        if (waiters_.size() >= max_waiters_) return {grant_kind::queue_full, std::nullopt};
        waiters_.push_back({make_waiter(), key});
        ++mine.waiting;
        return {grant_kind::wait, std::nullopt};
    }

    struct released {
        std::optional<handoff> to;  ///< A waiter to wake.
        std::optional<Conn> close;  ///< A reusable connection whose slot went to another context: close it.
    };

    /// Returns a connection of context `key`. `reusable` false closes its slot. May hand the connection, or its
    /// slot, to a waiter.
    released release(std::optional<Conn> c, Key key, bool reusable, time_point now)
    {
        auto& mine = parts_[key];
        if (!reusable) {
            --open_;
            --mine.open;
            return {grant_slot_to_waiter(), std::nullopt};
        }
        if (waiters_.empty()) {
            mine.idle.emplace_back(std::move(*c), now);
            return {};
        }
        auto same = waiters_.end();
        if (waiters_.front().key == key) {
            same = waiters_.begin();
        } else if (mine.open <= fair_share()) {
            for (auto it = waiters_.begin(); it != waiters_.end(); ++it)
                if (it->key == key) {
                    same = it;
                    break;
                }
        }
        if (same != waiters_.end()) {
            Waiter w = std::move(same->waiter);
            waiters_.erase(same);
            --mine.waiting;
            return {handoff{std::move(w), grant_kind::reuse, std::move(c)}, std::nullopt};
        }
        // The longest waiter is on another context: the slot moves there, this connection closes.
        queued head = std::move(waiters_.front());
        waiters_.pop_front();
        --mine.open;
        auto& theirs = parts_[head.key];
        ++theirs.open;
        --theirs.waiting;
        return {handoff{std::move(head.waiter), grant_kind::open, std::nullopt}, std::move(c)};
    }

    /// An opened connection of context `key` failed to connect, or a waiter gave back a permit it can no
    /// longer use.
    std::optional<handoff> release_permit(Key key)
    {
        --open_;
        --parts_[key].open;
        return grant_slot_to_waiter();
    }

    /// Removes a waiter that gave up (cancelled or timed out). False if it was already handed a slot.
    bool cancel_waiter(const Waiter& w)
    {
        for (auto it = waiters_.begin(); it != waiters_.end(); ++it)
            if (it->waiter == w) {
                --parts_[it->key].waiting;
                waiters_.erase(it);
                return true;
            }
        return false;
    }

    /// Closes every idle connection (moved to `out`) and returns every waiter (to be failed).
    std::vector<Waiter> shutdown(std::vector<Conn>& out)
    {
        for (auto& [key, p] : parts_) drop_idle(p, out);
        std::vector<Waiter> w;
        for (auto& x : waiters_) w.push_back(std::move(x.waiter));
        waiters_.clear();
        for (auto& [key, p] : parts_) p.waiting = 0;
        return w;
    }

    /// Context `key` is going away (its io_context is being destroyed): its idle connections are moved to
    /// `out`, its waiters forgotten (their coroutines die with the context).
    void drop_context(Key key, std::vector<Conn>& out)
    {
        auto it = parts_.find(key);
        if (it == parts_.end()) return;
        drop_idle(it->second, out);
        for (auto w = waiters_.begin(); w != waiters_.end();) w = w->key == key ? waiters_.erase(w) : std::next(w);
        it->second.waiting = 0;
        if (it->second.open == 0) parts_.erase(it);  // else its calls in flight still return connections
    }

    void evict(time_point now, std::vector<Conn>& expired)
    {
        for (auto& [key, p] : parts_) {
            // Each idle list is ordered by last use: the oldest are at the front.
            while (!p.idle.empty() && now - p.idle.front().second >= idle_timeout_) {
                expired.push_back(std::move(p.idle.front().first));
                p.idle.pop_front();
                --open_;
                --p.open;
            }
        }
    }

    std::size_t open() const noexcept { return open_; }
    std::size_t idle() const noexcept
    {
        std::size_t n = 0;
        for (auto& [key, p] : parts_) n += p.idle.size();
        return n;
    }
    std::size_t waiting() const noexcept { return waiters_.size(); }
    std::size_t max_connections() const noexcept { return max_; }
    /// Connections of context `key` (connecting, idle or in use).
    std::size_t open_in(Key key) const
    {
        auto it = parts_.find(key);
        return it == parts_.end() ? 0 : it->second.open;
    }

private:
    struct partition {
        std::size_t open = 0;                          // connecting + idle + in use, of this context
        std::size_t waiting = 0;                       // its callers in waiters_
        std::deque<std::pair<Conn, time_point>> idle;  // by last use, oldest first
    };
    struct queued {
        Waiter waiter;
        Key key;
    };

    std::optional<handoff> grant_slot_to_waiter()
    {
        if (waiters_.empty()) return std::nullopt;
        queued w = std::move(waiters_.front());
        waiters_.pop_front();
        ++open_;
        auto& p = parts_[w.key];
        ++p.open;
        --p.waiting;
        return handoff{std::move(w.waiter), grant_kind::open, std::nullopt};
    }

    // The context with the idle connection unused for longest, other than `key`; nullptr if none.
    partition* least_recently_used_elsewhere(Key key)
    {
        partition* best = nullptr;
        for (auto& [k, p] : parts_)
            if (k != key && !p.idle.empty() && (!best || p.idle.front().second < best->idle.front().second)) best = &p;
        return best;
    }

    // Contexts that hold connections or wait for one share the cap; a context may keep at most its share
    // while another context's caller waits.
    std::size_t fair_share() const
    {
        std::size_t active = 0;
        for (auto& [k, p] : parts_)
            if (p.open > 0 || p.waiting > 0) ++active;
        return active ? (max_ + active - 1) / active : max_;
    }

    void drop_idle(partition& p, std::vector<Conn>& out)
    {
        for (auto& i : p.idle) out.push_back(std::move(i.first));
        open_ -= p.idle.size();
        p.open -= p.idle.size();
        p.idle.clear();
    }

    std::size_t max_, max_waiters_;
    std::chrono::milliseconds idle_timeout_;
    std::size_t open_ = 0;  // connecting + idle + in use, every context
    std::map<Key, partition> parts_;
    std::deque<queued> waiters_;
};

}  // namespace smooch::detail

// SPDX-License-Identifier: BSL-1.0
#pragma once
// The dispatcher's state, shared by dispatcher.cpp (reader, senders, commits) and reconciler.cpp (reading back).
// Everything here runs on the run's executor (one thread), except `counters`, which counters() reads from anywhere.

#include "dispatch/campaign.hpp"
#include "dispatch/client_calls.hpp"
#include "dispatch/committer.hpp"
#include "dispatch/core.hpp"
#include "dispatch/journal.hpp"
#include "dispatch/reconcile.hpp"

#include <smooch/dispatch.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

namespace smooch::dispatch {

namespace detail {

/// Wakes every coroutine waiting on it (a timer that never expires, cancelled to notify). Waiters re-check their
/// condition: there is no lost wake-up on one thread, since nothing runs between the check and the wait.
class wakeup {
public:
    explicit wakeup(boost::asio::any_io_executor ex) : t_(ex, std::chrono::steady_clock::time_point::max()) {}
    void notify() { t_.cancel(); }
    boost::asio::awaitable<void> wait() { co_await t_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable)); }

private:
    boost::asio::steady_timer t_;
};

/// Idle senders, each waiting on its own timer, so that a job made ready wakes exactly one of them (a shared
/// wakeup would wake every sender for every line, and each would re-arm its timer).
class idle_senders {
public:
    boost::asio::awaitable<void> wait(boost::asio::steady_timer& t)
    {
        t.expires_at(std::chrono::steady_clock::time_point::max());
        idle_.push_back(&t);
        co_await t.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    void wake_one()
    {
        if (idle_.empty()) return;
        idle_.back()->cancel();
        idle_.pop_back();
    }
    void wake_all()
    {
        for (auto* t : idle_) t->cancel();
        idle_.clear();
    }

private:
    std::vector<boost::asio::steady_timer*> idle_;
};

}  // namespace detail

/// A line between reading and its final result. Until its first intent is committed, only the journal's thread
/// touches it (it parses `text` into `p` there); the run's thread takes it back in on_committed.
struct job {
    std::string text;                    ///< The line as read, until it is parsed.
    std::optional<std::string> invalid;  ///< Parsing rejected the line: why (the journal recorded it rejected).
    detail::prepared_line p;
    bool in_journal = false;  ///< The journal holds a row for it (an intent again is an update).
    unsigned sends = 0;       ///< Intents recorded in this run (each is followed by at most one post).
    std::int64_t intent_ms = 0;
    bool applied = false;  ///< The server said 2xx: never post again.
    std::string message_id;
    std::string last_error;
    std::chrono::steady_clock::time_point check_at;  ///< When reading back may start (settle delay).
};

struct dispatcher::impl {
    impl(smooch::client& c, dispatch_params p);

    conversation_api api;
    dispatch_params params;
    detail::health health;

    /// dispatch_counters as atomics: updated on the run's thread, read from any (dispatcher::counters()).
    struct live_counters {
#define SMOOCH_DISPATCH_COUNTERS(X)                                                                                    \
    X(total)                                                                                                           \
    X(read)                                                                                                            \
    X(delivered)                                                                                                       \
    X(failed)                                                                                                          \
    X(rejected)                                                                                                        \
    X(unknown) X(in_flight) X(posts) X(resends) X(retries) X(reconcile_reads) X(reconciled_found) X(reconciled_absent) \
        X(commits) X(done_before) X(senders_starved)
#define SMOOCH_X(f) std::atomic<std::uint64_t> f{0};
        SMOOCH_DISPATCH_COUNTERS(SMOOCH_X)
#undef SMOOCH_X
        std::uint64_t done() const noexcept { return delivered + failed + rejected; }
        dispatch_counters snapshot() const noexcept
        {
            dispatch_counters c;
#define SMOOCH_X(f) c.f = f.load(std::memory_order_relaxed);
            SMOOCH_DISPATCH_COUNTERS(SMOOCH_X)
#undef SMOOCH_X
            return c;
        }
#undef SMOOCH_DISPATCH_COUNTERS
    };
    live_counters counters;
    template <class F>
    void count(F&& f)
    {
        f(counters);
    }

    // --- one run
    source* src = nullptr;
    std::string campaign_id;  // src's, read by the journal's thread while it parses
    boost::asio::any_io_executor ex;
    std::unique_ptr<detail::journal> journal;
    std::unique_ptr<detail::group_committer> committer;
    std::vector<std::uint8_t> states;                              // by line, from the journal at start
    std::unordered_map<std::uint64_t, std::unique_ptr<job>> jobs;  // outstanding, by line
    std::deque<job*> ready;                                        // intent durable, waiting for a sender
    std::size_t window = 0, room_burst = 1;                        // outstanding lines at most; reader refill step
    std::optional<detail::wakeup> wake_room, wake_idle;
    detail::idle_senders senders;
    std::uint64_t submitted = 0, acked = 0;  // journal ops
    unsigned live = 0;                       // coroutines of this run
    bool reader_done = false;
    bool stopping = false;
    run_end end = run_end::completed;
    std::string reason;

    // Reading back, per (app, user): lines waiting, and whether a walk for that user is running.
    struct user_checks {
        std::deque<job*> waiting;
        bool walking = false;
    };
    std::map<std::pair<std::string, std::string>, user_checks> checks;

    boost::asio::awaitable<run_summary> run(source& s);
    void spawn(boost::asio::awaitable<void> a);
    void wake_all();
    void request_stop(run_end why, std::string text);
    void submit(detail::journal_op op, std::uint64_t tag, detail::group_committer::prepare_fn prepare = {});
    void on_committed(std::vector<detail::committed>& batch, const std::string* error);

    boost::asio::awaitable<void> read_lines();
    boost::asio::awaitable<void> send_loop();
    boost::asio::awaitable<void> retry_later(job& j);
    void reject(std::uint64_t line, std::string app, std::string user, std::string why);
    void record_intent(job& j);
    /// The journal's thread's part of a new line: parse it into the op to write (its intent, or its rejection).
    void prepare_line(job& j, detail::journal_op& op) const;
    detail::journal_op result_op(const job& j, line_state st, const detail::post_result* r, bool reconciled) const;
    /// Records a state the line leaves again (pending: not sent; unknown: to read back).
    void record_result(job& j, line_state st, const detail::post_result* r = nullptr);
    /// Records a final state (delivered or failed), tells on_line and ends the job (its strings move, not copy).
    void settle(job& j, line_state st, const detail::post_result* r = nullptr, bool reconciled = false);
    void finish(job& j);

    // reconciler.cpp
    void enqueue_check(job& j);
    boost::asio::awaitable<void> check_user(std::pair<std::string, std::string> who);
    /// Reads back the lines a crashed run left possibly sent, after the settle delay; they end delivered or
    /// pending before any line is read.
    boost::asio::awaitable<void> recover(std::vector<detail::unsettled_line> lines);
    /// One walk over a user's conversation; false if a read failed (the lines stay unknown).
    boost::asio::awaitable<bool> walk(const std::string& app, const std::string& user, detail::reconcile_walk& w);
};

}  // namespace smooch::dispatch

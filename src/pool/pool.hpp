// SPDX-License-Identifier: BSL-1.0
#pragma once
// The pool's I/O driver: leasing (FIFO waiters with a deadline and the caller's cancellation), returning, and
// one attempt on a pooled connection. The bookkeeping is pool_state's (sans-I/O); this adds the waits.
// Templated on the connection, the timer and the clock, so it is unit-tested with a fake connection and a
// manual timer (test/unit/pool), and instantiated once for the HTTPS transport.
//
// Connection needs: Connection(const any_io_executor&), bool looks_alive(), void close(), std::size_t served.
// Connector (run()) needs: awaitable<void> connect(Connection&, time_point deadline, attempt_result&), and
// awaitable<bool> exchange(Connection&, const outgoing_request&, const std::string& authorization,
// time_point deadline, bool reused, attempt_result&) returning whether the connection may be kept alive.

#include <smooch/client.hpp>

#include "common/counters.hpp"
#include "common/receive_until.hpp"
#include "pool/context_watch.hpp"
#include "pool/pool_state.hpp"
#include "transport/transport.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace smooch::detail {

template <class Connection, class Timer, class Clock = std::chrono::steady_clock>
class basic_pool final : public std::enable_shared_from_this<basic_pool<Connection, Timer, Clock>>,
                         public context_user {
public:
    using conn_ptr = std::unique_ptr<Connection>;
    using time_point = std::chrono::steady_clock::time_point;

    /// The execution context a call runs on: the partition of the pool its connections belong to.
    using context_key = const void*;
    static boost::asio::execution_context& context_of(const boost::asio::any_io_executor& ex)
    {
        return boost::asio::query(ex, boost::asio::execution::context);
    }

    /// A leased connection, or a permit to open one (`fresh`: the caller connects it), of context `key`.
    struct lease {
        conn_ptr conn;
        bool fresh = false;
        context_key key = nullptr;
    };

    basic_pool(const pool_params& p, atomic_counters& stats)
        : params_(p), stats_(stats), state_(p.max_connections, p.max_waiters, p.idle_timeout)
    {}

    /// Leases a connection: an idle one that still looks alive, a permit to open one, or a place in the FIFO
    /// queue until one is handed over. Ends with deadline_exceeded at `deadline`, operation_aborted when the
    /// caller cancels, pool_queue_full past max_waiters, client_stopped after shutdown().
    boost::asio::awaitable<error_code> acquire(lease& out, time_point deadline, std::string& message)
    {
        const auto io = co_await boost::asio::this_coro::executor;
        auto& context = context_of(io);
        out.key = &context;
        for (unsigned tries = 0;; ++tries) {
            waiter_ptr w;
            std::vector<conn_ptr> expired;
            typename state::grant g;
            {
                std::lock_guard lk(mu_);
                if (stopped_) co_return client_errc::client_stopped;
                if (state_.open_in(out.key) == 0) watch(context);
                g = state_.acquire_with(
                    Clock::now(), out.key, [&] { return w = std::make_shared<waiter>(io); }, expired);
            }
            close_all(expired);
            if (g.kind == grant_kind::queue_full) {
                message = "max_waiters (" + std::to_string(params_.max_waiters) + ") callers already waiting";
                co_return client_errc::pool_queue_full;
            }
            if (g.kind == grant_kind::wait) {
                stats_.pool_waits++;
                if (auto ec = co_await wait_for_slot(w, out.key, deadline, message)) co_return ec;
                g.kind = w->kind;
                if (w->kind == grant_kind::reuse) g.conn = std::move(w->conn);
            }
            if (g.kind == grant_kind::open) {
                out.fresh = true;
                out.conn = std::make_unique<Connection>(io);
                co_return error_code{};
            }
            // Reuse: a connection the peer already closed is dropped before we write a byte to it.
            if ((*g.conn)->looks_alive()) {
                out.fresh = false;
                out.conn = std::move(*g.conn);
                co_return error_code{};
            }
            release(std::move(*g.conn), out.key, false);
            if (tries > params_.max_connections + 1) {
                // Every kept-alive connection was dead: open a fresh one on the next round.
                continue;
            }
        }
    }

    /// Gives a connection of context `key` back. Not reusable: closed, and its slot may go to a waiter.
    void release(conn_ptr c, context_key key, bool reusable)
    {
        if (!reusable) {
            c->close();
            stats_.connections_discarded++;
        }
        std::optional<typename state::handoff> h;
        std::vector<conn_ptr> expired;
        {
            std::lock_guard lk(mu_);
            if (stopped_ && reusable) {
                c->close();
                stats_.connections_discarded++;
                reusable = false;
            }
            const auto now = Clock::now();
            auto r =
                state_.release(reusable ? std::optional<conn_ptr>(std::move(c)) : std::nullopt, key, reusable, now);
            if (r.close) expired.push_back(std::move(*r.close));  // its slot went to another context's caller
            h = assign(std::move(r.to));
            // Eviction also happens here, not only on acquire: no timer of ours may keep the caller's
            // io_context busy, so traffic is what sweeps idle connections out.
            state_.evict(now, expired);
        }
        close_all(expired);
        deliver(std::move(h));
    }

    /// Gives back a permit of context `key` whose connection never opened (a failed connect).
    void release_permit(context_key key)
    {
        std::optional<typename state::handoff> h;
        {
            std::lock_guard lk(mu_);
            h = assign(state_.release_permit(key));
        }
        deliver(std::move(h));
    }

    /// Context `key` is going away: its idle connections close and its waiters are forgotten.
    void drop_context(context_key key) override
    {
        std::vector<conn_ptr> idle;
        {
            std::lock_guard lk(mu_);
            state_.drop_context(key, idle);
            std::erase(watched_, key);  // a context made later at the same address registers afresh
        }
        close_all(idle);
    }

    /// One attempt on a pooled connection: lease, connect it if it is new, ask `hooks` whether to send, send
    /// and read with `connector`, give the connection back (on every path, cancellation included).
    template <class Connector>
    boost::asio::awaitable<attempt_result> run(Connector& connector, const outgoing_request& req, time_point deadline,
                                               attempt_hooks& hooks)
    {
        auto self = this->shared_from_this();  // in-flight calls keep the pool alive
        attempt_result r;
        lease l;
        if (auto ec = co_await acquire(l, deadline, r.message)) {
            r.ec = ec;
            co_return r;
        }
        struct guard {
            basic_pool& p;
            conn_ptr& c;
            bool fresh_unopened;
            bool reusable = false;
            context_key key;
            ~guard()
            {
                if (fresh_unopened) p.release_permit(key);
                else if (c) p.release(std::move(c), key, reusable);
            }
        } g{*this, l.conn, l.fresh, false, l.key};

        if (l.fresh) {
            co_await connector.connect(*l.conn, deadline, r);
            if (r.ec) co_return r;  // the guard returns the permit (the connection object never counted)
            g.fresh_unopened = false;
        }
        r.connected = true;
        r.reused = !l.fresh;
        if (!co_await hooks.before_send()) {
            r.gated_until = std::chrono::steady_clock::now();  // nothing sent; the hooks know why
            g.reusable = true;
            co_return r;
        }
        if (auto until = hooks.may_send()) {
            r.gated_until = until;
            g.reusable = true;
            co_return r;
        }
        stats_.attempts++;
        if (r.reused) stats_.connections_reused++;  // counted per request sent, not per lease
        // Asked for now, not before the pool wait and the connect: a short-lived JWT must not expire in a queue.
        const bool keep_alive = co_await connector.exchange(*l.conn, req, hooks.authorization(), deadline, !l.fresh, r);
        if (!r.ec) hooks.on_response(r);
        const auto max = params_.max_requests_per_connection;
        g.reusable = !r.ec && keep_alive && (max == 0 || ++l.conn->served < max);
        co_return r;
    }

    std::size_t open() const
    {
        std::lock_guard lk(mu_);
        return state_.open();
    }

    /// Closes idle connections, fails every waiter with client_stopped, and refuses later leases.
    void shutdown()
    {
        std::vector<conn_ptr> idle;
        std::vector<waiter_ptr> waiters;
        {
            std::lock_guard lk(mu_);
            stopped_ = true;
            waiters = state_.shutdown(idle);
        }
        close_all(idle);
        for (auto& w : waiters) w->ch.try_send(error_code(client_errc::client_stopped));
    }

private:
    struct waiter {
        explicit waiter(const boost::asio::any_io_executor& ex) : ch(ex, 1) {}
        boost::asio::experimental::concurrent_channel<void(error_code)> ch;
        // Written under the pool mutex by whoever hands this waiter a slot.
        bool granted = false;
        grant_kind kind = grant_kind::open;
        conn_ptr conn;
    };
    using waiter_ptr = std::shared_ptr<waiter>;
    using state = pool_state<conn_ptr, waiter_ptr, context_key>;

    // Registers with the context's watch, so this pool hears when the context is destroyed. Called (mu_ held)
    // whenever the pool has no connection there: use_service is a lookup after the first time.
    void watch(boost::asio::execution_context& context)
    {
        if (std::find(watched_.begin(), watched_.end(), &context) != watched_.end()) return;
        boost::asio::use_service<context_watch>(context).watch(this->weak_from_this());
        watched_.push_back(&context);
    }

    void close_all(std::vector<conn_ptr>& v)
    {
        for (auto& c : v) {
            c->close();
            stats_.connections_discarded++;
        }
        v.clear();
    }

    // Fields are set under the mutex (assign); waking happens outside it (deliver).
    static std::optional<typename state::handoff> assign(std::optional<typename state::handoff> h)
    {
        if (h) {
            h->waiter->granted = true;
            h->waiter->kind = h->kind;
            if (h->conn) h->waiter->conn = std::move(*h->conn);
        }
        return h;
    }
    static void deliver(std::optional<typename state::handoff> h)
    {
        if (h) h->waiter->ch.try_send(error_code{});
    }

    /// Waits in the queue until a slot is handed over, the deadline passes, or the caller cancels.
    boost::asio::awaitable<error_code> wait_for_slot(const waiter_ptr& w, context_key key, time_point deadline,
                                                     std::string& message)
    {
        auto [ec] = co_await receive_until<Timer>(w, w->ch, deadline, client_errc::deadline_exceeded);
        bool granted;
        {
            std::lock_guard lk(mu_);
            granted = w->granted;
            if (!granted) state_.cancel_waiter(w);
        }
        if (!granted) {
            if (!ec) ec = client_errc::client_stopped;
            if (ec == client_errc::deadline_exceeded) message = "while waiting for a pooled connection";
            co_return ec;
        }
        if (ec) {  // handed a slot, but we are leaving (cancelled or timed out): give it back
            if (w->kind == grant_kind::reuse) release(std::move(w->conn), key, true);
            else release_permit(key);
        }
        co_return ec;
    }

    pool_params params_;
    atomic_counters& stats_;
    mutable std::mutex mu_;
    state state_;
    std::vector<const void*> watched_;  // contexts whose context_watch knows this pool
    bool stopped_ = false;
};

}  // namespace smooch::detail

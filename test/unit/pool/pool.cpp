// SPDX-License-Identifier: BSL-1.0
// basic_pool, the pool's I/O driver, with a fake connection, a manual timer and a manual clock: every branch
// of leasing (reuse, open, queue, deadline, cancellation at each wait, shutdown, dead connections, eviction)
// and of one attempt on a pooled connection, without sockets or real time.

#include <boost/test/unit_test.hpp>

#include "manual_time.hpp"
#include "pool/pool.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <deque>
#include <functional>

using namespace smooch;
using namespace smooch::detail;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using test::manual_clock;
using test::manual_timers;

namespace {

struct fake_connection {
    explicit fake_connection(const asio::any_io_executor&) : id(++made) {}
    bool looks_alive() const { return alive; }
    void close() { closed = true; }
    std::size_t served = 0;
    bool alive = true;
    bool closed = false;
    int id;
    static inline int made = 0;
};

using test_pool = basic_pool<fake_connection, test::manual_timer, manual_clock>;

/// What a connector is told to do, per call.
struct fake_connector {
    error_code connect_error;   // connect fails with this
    error_code exchange_error;  // the exchange fails with this
    unsigned status = 200;
    bool keep_alive = true;
    bool throw_in_exchange = false;  // cancellation delivered as an exception
    int connects = 0, exchanges = 0;
    std::function<void()> during_exchange;

    asio::awaitable<void> connect(fake_connection&, manual_clock::time_point, attempt_result& r)
    {
        ++connects;
        r.ec = connect_error;
        co_return;
    }
    asio::awaitable<bool> exchange(fake_connection&, const outgoing_request&, const std::string& authorization,
                                   manual_clock::time_point, bool reused, attempt_result& r)
    {
        ++exchanges;
        last_authorization = authorization;
        last_reused = reused;
        if (during_exchange) during_exchange();
        if (throw_in_exchange) throw boost::system::system_error(asio::error::operation_aborted);
        r.request_sent = true;
        r.ec = exchange_error;
        if (!r.ec) r.status = status;
        co_return keep_alive;
    }
    std::string last_authorization;
    bool last_reused = false;
};

struct fake_hooks final : attempt_hooks {
    std::optional<clock::time_point> gate;  // closed until then
    int may_send_calls = 0, responses = 0;
    std::function<void(const attempt_result&)> on_response_check;
    std::optional<clock::time_point> may_send() override
    {
        ++may_send_calls;
        return gate;
    }
    std::string authorization() override { return "Basic token"; }
    void on_response(const attempt_result& r) override
    {
        ++responses;
        if (on_response_check) on_response_check(r);
    }
};

struct fixture {
    asio::io_context io;
    atomic_counters stats;
    pool_params params;
    std::shared_ptr<test_pool> pool;

    explicit fixture(std::size_t max_connections = 1, std::size_t max_waiters = 10)
    {
        params.max_connections = max_connections;
        params.max_waiters = max_waiters;
        params.idle_timeout = 30s;
        pool = std::make_shared<test_pool>(params, stats);
    }

    /// Runs what is ready. restart() first: run/poll leave an io_context stopped once it runs out of work.
    void poll()
    {
        io.restart();
        io.poll();
    }
    void poll_one()
    {
        io.restart();
        io.poll_one();
    }

    struct leasing {
        bool done = false;
        error_code ec;
        std::string message;
        test_pool::lease lease;
        asio::cancellation_signal cancel;
    };
    /// Starts acquire() in a coroutine; poll() runs it as far as it can go.
    std::shared_ptr<leasing> start_lease(manual_clock::time_point deadline = manual_clock::time_point::max())
    {
        auto l = std::make_shared<leasing>();
        asio::co_spawn(
            io,
            [this, l, deadline]() -> asio::awaitable<void> {
                l->ec = co_await pool->acquire(l->lease, deadline, l->message);
                l->done = true;
            },
            asio::bind_cancellation_slot(l->cancel.slot(), [](std::exception_ptr e) {
                if (e) std::rethrow_exception(e);
            }));
        return l;
    }
    /// A lease taken by a call on another io_context, run until it has its connection.
    std::shared_ptr<leasing> lease_on(asio::io_context& other)
    {
        auto l = std::make_shared<leasing>();
        asio::co_spawn(
            other,
            [this, l]() -> asio::awaitable<void> {
                l->ec = co_await pool->acquire(l->lease, manual_clock::time_point::max(), l->message);
                l->done = true;
            },
            asio::detached);
        other.restart();
        other.poll();
        BOOST_TEST_REQUIRE(l->done);
        return l;
    }
    std::shared_ptr<leasing> lease_now()
    {
        auto l = start_lease();
        poll();
        BOOST_TEST_REQUIRE(l->done);
        BOOST_TEST_REQUIRE(!l->ec);
        return l;
    }

    struct attempt {
        bool done = false;
        attempt_result r;
    };
    std::shared_ptr<attempt> start_run(fake_connector& c, fake_hooks& h,
                                       manual_clock::time_point deadline = manual_clock::time_point::max())
    {
        auto a = std::make_shared<attempt>();
        asio::co_spawn(
            io,
            [this, a, &c, &h, deadline]() -> asio::awaitable<void> {
                outgoing_request req;
                a->r = co_await pool->run(c, req, deadline, h);
                a->done = true;
            },
            [](std::exception_ptr) {});
        return a;
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(pool_leasing)

BOOST_AUTO_TEST_CASE(a_permit_then_reuse_of_the_returned_connection)
{
    fixture f(1);
    auto a = f.lease_now();
    BOOST_TEST(a->lease.fresh);
    const int id = a->lease.conn->id;
    f.pool->release(std::move(a->lease.conn), a->lease.key, true);
    auto b = f.lease_now();
    BOOST_TEST(!b->lease.fresh);
    BOOST_TEST(b->lease.conn->id == id);
    BOOST_TEST(f.pool->open() == 1u);
    BOOST_TEST(f.stats.pool_waits == 0u);
}

BOOST_AUTO_TEST_CASE(waiters_are_served_in_order_by_handoff)
{
    fixture f(1);
    auto a = f.lease_now();
    auto b = f.start_lease();
    auto c = f.start_lease();
    f.poll();
    BOOST_TEST(!b->done);
    BOOST_TEST(!c->done);
    BOOST_TEST(f.stats.pool_waits == 2u);
    const int id = a->lease.conn->id;
    f.pool->release(std::move(a->lease.conn), a->lease.key, true);  // goes straight to the first waiter
    f.poll();
    BOOST_TEST_REQUIRE(b->done);
    BOOST_TEST(!c->done);
    BOOST_TEST(!b->lease.fresh);
    BOOST_TEST(b->lease.conn->id == id);
    f.pool->release(std::move(b->lease.conn), b->lease.key,
                    false);  // discarded: its slot becomes a permit for the next
    f.poll();
    BOOST_TEST_REQUIRE(c->done);
    BOOST_TEST(c->lease.fresh);
    BOOST_TEST(f.stats.connections_discarded == 1u);
}

BOOST_AUTO_TEST_CASE(a_queued_caller_fails_at_its_deadline_and_leaves_the_queue)
{
    fixture f(1);
    auto a = f.lease_now();
    auto b = f.start_lease(manual_clock::now() + 1s);
    f.poll();
    BOOST_TEST(!b->done);
    manual_timers::advance_to(manual_clock::now() + 999ms);
    f.poll();
    BOOST_TEST(!b->done);
    manual_timers::advance_to(manual_clock::now() + 1ms);
    f.poll();
    BOOST_TEST_REQUIRE(b->done);
    BOOST_TEST((b->ec == client_errc::deadline_exceeded));
    BOOST_TEST(b->message == "while waiting for a pooled connection");
    // Nobody waits now: the returned connection goes idle instead of to the departed caller.
    f.pool->release(std::move(a->lease.conn), a->lease.key, true);
    auto c = f.lease_now();
    BOOST_TEST(!c->lease.fresh);
}

BOOST_AUTO_TEST_CASE(a_caller_cancelled_in_the_queue_leaves_it)
{
    fixture f(1);
    auto a = f.lease_now();
    auto b = f.start_lease(manual_clock::now() + 10s);
    f.poll();
    b->cancel.emit(asio::cancellation_type::terminal);
    f.poll();
    BOOST_TEST_REQUIRE(b->done);
    BOOST_TEST((b->ec == asio::error::operation_aborted));
    BOOST_TEST(manual_timers::waiting() == 0u);  // its deadline timer is gone too
    f.pool->release(std::move(a->lease.conn), a->lease.key, true);
    auto c = f.lease_now();
    BOOST_TEST(!c->lease.fresh);  // the connection was kept, not handed to the cancelled caller
    BOOST_TEST(f.pool->open() == 1u);
}

BOOST_AUTO_TEST_CASE(a_caller_handed_a_slot_as_its_deadline_fires_gives_the_slot_back)
{
    fixture f(1);
    auto a = f.lease_now();
    auto b = f.start_lease(manual_clock::now() + 1s);
    auto c = f.start_lease();
    f.poll();
    manual_timers::advance_to(manual_clock::now() + 1s);
    f.poll_one();  // b's deadline handler: b's wait completes with deadline_exceeded, b not yet resumed
    const int id = a->lease.conn->id;
    f.pool->release(std::move(a->lease.conn), a->lease.key, true);  // handed to b, which is already leaving
    f.poll();
    BOOST_TEST_REQUIRE(b->done);
    BOOST_TEST((b->ec == client_errc::deadline_exceeded));
    BOOST_TEST_REQUIRE(c->done);  // b passed the connection on
    BOOST_TEST(!c->lease.fresh);
    BOOST_TEST(c->lease.conn->id == id);
}

BOOST_AUTO_TEST_CASE(the_queue_is_bounded)
{
    fixture f(1, 1);
    auto a = f.lease_now();
    auto b = f.start_lease();
    auto c = f.start_lease();
    f.poll();
    BOOST_TEST(!b->done);
    BOOST_TEST_REQUIRE(c->done);
    BOOST_TEST((c->ec == client_errc::pool_queue_full));
    BOOST_TEST(c->message == "max_waiters (1) callers already waiting");
}

BOOST_AUTO_TEST_CASE(shutdown_fails_waiters_and_later_callers_and_closes_returned_connections)
{
    fixture f(1);
    auto a = f.lease_now();
    auto b = f.start_lease();
    f.poll();
    f.pool->shutdown();
    f.poll();
    BOOST_TEST_REQUIRE(b->done);
    BOOST_TEST((b->ec == client_errc::client_stopped));
    auto* conn = a->lease.conn.get();
    auto kept = std::move(a->lease.conn);
    f.pool->release(std::move(kept), a->lease.key, true);
    BOOST_TEST(f.stats.connections_discarded == 1u);
    BOOST_TEST(f.pool->open() == 0u);
    (void)conn;
    auto c = f.start_lease();
    f.poll();
    BOOST_TEST_REQUIRE(c->done);
    BOOST_TEST((c->ec == client_errc::client_stopped));
}

BOOST_AUTO_TEST_CASE(a_dead_idle_connection_is_dropped_before_reuse)
{
    fixture f(2);
    auto a = f.lease_now();
    a->lease.conn->alive = false;  // the peer closed it while it was idle
    f.pool->release(std::move(a->lease.conn), a->lease.key, true);
    auto b = f.lease_now();
    BOOST_TEST(b->lease.fresh);  // a permit to open a new one
    BOOST_TEST(f.stats.connections_discarded == 1u);
    BOOST_TEST(f.pool->open() == 1u);
}

BOOST_AUTO_TEST_CASE(idle_connections_past_idle_timeout_are_closed_by_traffic)
{
    fixture f(2);
    auto a = f.lease_now();
    auto b = f.lease_now();
    f.pool->release(std::move(a->lease.conn), a->lease.key, true);
    manual_timers::advance_to(manual_clock::now() + 30s);
    f.pool->release(std::move(b->lease.conn), b->lease.key, true);  // a release evicts too: a is 30 s idle
    BOOST_TEST(f.stats.connections_discarded == 1u);
    BOOST_TEST(f.pool->open() == 1u);
}

BOOST_AUTO_TEST_CASE(a_stopped_context_holds_no_call_of_another_past_its_deadline)
{
    fixture f(1);
    asio::io_context other;  // run once, then never again: a stopped io_context whose call holds the only slot
    auto held = f.lease_on(other);
    auto b = f.start_lease(manual_clock::now() + 1s);
    f.poll();
    BOOST_TEST(!b->done);
    manual_timers::advance_to(manual_clock::now() + 1s);
    f.poll();
    BOOST_TEST_REQUIRE(b->done);  // its own deadline, on its own context
    BOOST_TEST((b->ec == client_errc::deadline_exceeded));
    f.pool->release(std::move(held->lease.conn), held->lease.key, true);
}

BOOST_AUTO_TEST_CASE(connections_belong_to_the_context_that_opened_them)
{
    fixture f(2);
    asio::io_context other;
    auto a = f.lease_now();
    const int mine = a->lease.conn->id;
    f.pool->release(std::move(a->lease.conn), a->lease.key, true);
    auto x = f.lease_on(other);
    BOOST_TEST(x->lease.fresh);  // not this context's idle connection
    BOOST_TEST((x->lease.key != a->lease.key));
    f.pool->release(std::move(x->lease.conn), x->lease.key, true);
    auto again = f.lease_now();
    BOOST_TEST(again->lease.conn->id == mine);
    // The cap is global: with both slots taken, the other context's idle connection gives up its slot.
    auto c = f.lease_now();
    BOOST_TEST(c->lease.fresh);
    BOOST_TEST(f.stats.connections_discarded == 1u);
    BOOST_TEST(f.pool->open() == 2u);
}

BOOST_AUTO_TEST_CASE(destroying_a_context_closes_its_idle_connections)
{
    fixture f(2);
    fake_connection* idle = nullptr;
    {
        asio::io_context other;
        auto l = f.lease_on(other);
        idle = l->lease.conn.get();
        f.pool->release(std::move(l->lease.conn), l->lease.key, true);
        BOOST_TEST(!idle->closed);
        BOOST_TEST(f.pool->open() == 1u);
    }  // ~io_context: its idle connection is closed and its slot freed now, not later
    BOOST_TEST(f.pool->open() == 0u);
    BOOST_TEST(f.stats.connections_discarded == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(pool_attempts)

BOOST_AUTO_TEST_CASE(an_attempt_connects_a_new_connection_then_reuses_it)
{
    fixture f(1);
    fake_connector c;
    fake_hooks h;
    auto first = f.start_run(c, h);
    f.poll();
    BOOST_TEST_REQUIRE(first->done);
    BOOST_TEST(first->r.status == 200u);
    BOOST_TEST(first->r.connected);
    BOOST_TEST(!first->r.reused);
    BOOST_TEST(c.connects == 1);
    BOOST_TEST(c.last_authorization == "Basic token");  // asked for after the lease
    auto second = f.start_run(c, h);
    f.poll();
    BOOST_TEST_REQUIRE(second->done);
    BOOST_TEST(second->r.reused);
    BOOST_TEST(c.last_reused);
    BOOST_TEST(c.connects == 1);
    BOOST_TEST(f.stats.attempts == 2u);
    BOOST_TEST(f.stats.connections_reused == 1u);  // the second request ran on the first one's connection
    BOOST_TEST(h.responses == 2);
}

BOOST_AUTO_TEST_CASE(a_failed_connect_returns_the_permit)
{
    fixture f(1);
    fake_connector c;
    c.connect_error = asio::error::connection_refused;
    fake_hooks h;
    auto a = f.start_run(c, h);
    f.poll();
    BOOST_TEST_REQUIRE(a->done);
    BOOST_TEST((a->r.ec == asio::error::connection_refused));
    BOOST_TEST(!a->r.connected);
    BOOST_TEST(h.may_send_calls == 0);  // nothing sent, the pipeline was not asked
    BOOST_TEST(f.pool->open() == 0u);
    BOOST_TEST(f.stats.attempts == 0u);
}

BOOST_AUTO_TEST_CASE(a_gate_that_closed_while_the_call_queued_sends_nothing_and_keeps_the_connection)
{
    fixture f(1);
    auto holder = f.lease_now();
    fake_connector c;
    fake_hooks h;
    auto a = f.start_run(c, h);
    f.poll();
    BOOST_TEST(!a->done);               // queued behind `holder`
    h.gate = manual_clock::now() + 2s;  // a 429 elsewhere closed the app's gate meanwhile
    f.pool->release(std::move(holder->lease.conn), holder->lease.key, true);
    f.poll();
    BOOST_TEST_REQUIRE(a->done);
    BOOST_TEST_REQUIRE(a->r.gated_until.has_value());
    BOOST_TEST((*a->r.gated_until == manual_clock::now() + 2s));
    BOOST_TEST(!a->r.request_sent);
    BOOST_TEST(c.exchanges == 0);
    BOOST_TEST(f.stats.attempts == 0u);
    BOOST_TEST(f.stats.connections_reused == 0u);  // a lease the gate turned back is not a reuse
    auto next = f.lease_now();
    BOOST_TEST(!next->lease.fresh);  // the connection went back unused, still open
}

BOOST_AUTO_TEST_CASE(the_response_is_seen_before_the_connection_returns)
{
    fixture f(1);
    fake_connector c;
    c.keep_alive = false;  // the release will close it: open() tells whether it has happened yet
    fake_hooks h;
    std::size_t open_at_response = 0;
    h.on_response_check = [&](const attempt_result& r) {
        BOOST_TEST(r.status == 200u);
        open_at_response = f.pool->open();
    };
    auto a = f.start_run(c, h);
    f.poll();
    BOOST_TEST_REQUIRE(a->done);
    BOOST_TEST(open_at_response == 1u);  // so a 429 closes the gate before a waiter can have the connection
    BOOST_TEST(f.pool->open() == 0u);
}

BOOST_AUTO_TEST_CASE(a_connection_is_retired_after_an_error_no_keep_alive_or_its_request_budget)
{
    fixture f(1);
    f.params.max_requests_per_connection = 2;
    f.pool = std::make_shared<test_pool>(f.params, f.stats);
    fake_connector c;
    fake_hooks h;
    for (int i = 0; i < 2; ++i) {
        auto a = f.start_run(c, h);
        f.poll();
        BOOST_TEST_REQUIRE(a->done);
    }
    BOOST_TEST(c.connects == 1);
    BOOST_TEST(f.stats.connections_discarded == 1u);  // served 2 = max_requests_per_connection
    c.keep_alive = false;
    auto a = f.start_run(c, h);
    f.poll();
    BOOST_TEST(f.stats.connections_discarded == 2u);
    c.keep_alive = true;
    c.exchange_error = asio::error::connection_reset;
    a = f.start_run(c, h);
    f.poll();
    BOOST_TEST((a->r.ec == asio::error::connection_reset));
    BOOST_TEST(h.responses == 3);  // no response for the reset
    BOOST_TEST(f.stats.connections_discarded == 3u);
    BOOST_TEST(f.pool->open() == 0u);
}

BOOST_AUTO_TEST_CASE(an_exception_in_the_exchange_still_returns_the_connection_closed)
{
    fixture f(1);
    fake_connector c;
    c.throw_in_exchange = true;
    fake_hooks h;
    auto a = f.start_run(c, h);
    f.poll();
    BOOST_TEST(!a->done);  // the exception ended the coroutine
    BOOST_TEST(f.pool->open() == 0u);
    BOOST_TEST(f.stats.connections_discarded == 1u);
    auto b = f.lease_now();
    BOOST_TEST(b->lease.fresh);
}

BOOST_AUTO_TEST_SUITE_END()

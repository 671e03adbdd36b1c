#define BOOST_TEST_MODULE pool
#include <boost/test/unit_test.hpp>

#include "pool/pool_state.hpp"

#include <chrono>
#include <vector>

using namespace smooch::detail;
using namespace std::chrono_literals;

namespace {
using clock = std::chrono::steady_clock;
const clock::time_point t0 = clock::time_point{} + 1000h;
}

BOOST_AUTO_TEST_SUITE(pool_bookkeeping)

using pool = pool_state<int, int>;

BOOST_AUTO_TEST_CASE(cap_is_hard_and_waiters_are_fifo)
{
    pool p(2, 10, 30s);
    std::vector<int> expired;
    BOOST_TEST((p.acquire(t0, 1, expired).kind == grant_kind::open));
    BOOST_TEST((p.acquire(t0, 2, expired).kind == grant_kind::open));
    BOOST_TEST((p.acquire(t0, 3, expired).kind == grant_kind::wait));
    BOOST_TEST((p.acquire(t0, 4, expired).kind == grant_kind::wait));
    BOOST_TEST(p.open() == 2u);
    BOOST_TEST(p.waiting() == 2u);
    // A reusable connection goes straight to the first waiter, not to the idle list.
    auto h = p.release(100, true, t0);
    BOOST_REQUIRE(h);
    BOOST_TEST(h->waiter == 3);
    BOOST_TEST((h->kind == grant_kind::reuse));
    BOOST_TEST(*h->conn == 100);
    // A discarded connection frees its slot: the next waiter gets a permit to open a new one.
    h = p.release(std::nullopt, false, t0);
    BOOST_REQUIRE(h);
    BOOST_TEST(h->waiter == 4);
    BOOST_TEST((h->kind == grant_kind::open));
    BOOST_TEST(p.open() == 2u);
    BOOST_TEST(p.waiting() == 0u);
}

BOOST_AUTO_TEST_CASE(queue_bound_refuses_extra_waiters)
{
    pool p(1, 1, 30s);
    std::vector<int> expired;
    p.acquire(t0, 1, expired);
    BOOST_TEST((p.acquire(t0, 2, expired).kind == grant_kind::wait));
    BOOST_TEST((p.acquire(t0, 3, expired).kind == grant_kind::queue_full));
}

BOOST_AUTO_TEST_CASE(idle_connections_are_reused_most_recent_first_and_evicted_when_old)
{
    pool p(3, 10, 30s);
    std::vector<int> expired;
    p.acquire(t0, 1, expired);
    p.acquire(t0, 2, expired);
    p.release(10, true, t0);
    p.release(20, true, t0 + 20s);
    auto g = p.acquire(t0 + 25s, 3, expired);
    BOOST_TEST((g.kind == grant_kind::reuse));
    BOOST_TEST(*g.conn == 20);
    p.release(20, true, t0 + 25s);
    // At t0+31s connection 10 is 31 s idle: evicted (its slot freed); 20 is reused.
    g = p.acquire(t0 + 31s, 4, expired);
    BOOST_TEST(expired == std::vector<int>{10});
    BOOST_TEST(*g.conn == 20);
    BOOST_TEST(p.open() == 1u);
}

BOOST_AUTO_TEST_CASE(cancelled_waiter_leaves_the_queue)
{
    pool p(1, 10, 30s);
    std::vector<int> expired;
    p.acquire(t0, 1, expired);
    p.acquire(t0, 2, expired);
    p.acquire(t0, 3, expired);
    BOOST_TEST(p.cancel_waiter(2));
    BOOST_TEST(!p.cancel_waiter(2));
    auto h = p.release(7, true, t0);
    BOOST_REQUIRE(h);
    BOOST_TEST(h->waiter == 3);
}

BOOST_AUTO_TEST_CASE(failed_connect_returns_the_permit)
{
    pool p(1, 10, 30s);
    std::vector<int> expired;
    p.acquire(t0, 1, expired);
    p.acquire(t0, 2, expired);
    auto h = p.release_permit();
    BOOST_REQUIRE(h);
    BOOST_TEST(h->waiter == 2);
    BOOST_TEST((h->kind == grant_kind::open));
    BOOST_TEST(p.open() == 1u);
    BOOST_TEST(!p.release_permit());
    BOOST_TEST(p.open() == 0u);
}

BOOST_AUTO_TEST_CASE(shutdown_returns_idle_and_waiters)
{
    pool p(2, 10, 30s);
    std::vector<int> expired, closed;
    p.acquire(t0, 1, expired);
    p.acquire(t0, 2, expired);
    p.release(5, true, t0);
    // one in use, one idle; a waiter only appears once both are taken
    p.acquire(t0, 3, expired);
    BOOST_TEST((p.acquire(t0, 4, expired).kind == grant_kind::wait));
    auto w = p.shutdown(closed);
    BOOST_TEST(w == std::vector<int>{4});
    BOOST_TEST(closed.empty());  // the idle connection was taken by waiter 3
}

BOOST_AUTO_TEST_SUITE_END()

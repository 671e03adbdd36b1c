// SPDX-License-Identifier: BSL-1.0
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
const int contexts[3] = {};
const void* const A = &contexts[0];  // execution contexts (io_contexts)
const void* const B = &contexts[1];
const void* const C = &contexts[2];
}  // namespace

BOOST_AUTO_TEST_SUITE(pool_bookkeeping)

using pool = pool_state<int, int>;

BOOST_AUTO_TEST_CASE(cap_is_hard_and_waiters_are_fifo)
{
    pool p(2, 10, 30s);
    std::vector<int> expired;
    BOOST_TEST((p.acquire(t0, A, 1, expired).kind == grant_kind::open));
    BOOST_TEST((p.acquire(t0, A, 2, expired).kind == grant_kind::open));
    BOOST_TEST((p.acquire(t0, A, 3, expired).kind == grant_kind::wait));
    BOOST_TEST((p.acquire(t0, A, 4, expired).kind == grant_kind::wait));
    BOOST_TEST(p.open() == 2u);
    BOOST_TEST(p.waiting() == 2u);
    // A reusable connection goes straight to the first waiter, not to the idle list.
    auto h = p.release(100, A, true, t0).to;
    BOOST_REQUIRE(h);
    BOOST_TEST(h->waiter == 3);
    BOOST_TEST((h->kind == grant_kind::reuse));
    BOOST_TEST(*h->conn == 100);
    // A discarded connection frees its slot: the next waiter gets a permit to open a new one.
    h = p.release(std::nullopt, A, false, t0).to;
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
    p.acquire(t0, A, 1, expired);
    BOOST_TEST((p.acquire(t0, A, 2, expired).kind == grant_kind::wait));
    BOOST_TEST((p.acquire(t0, A, 3, expired).kind == grant_kind::queue_full));
}

BOOST_AUTO_TEST_CASE(idle_connections_are_reused_most_recent_first_and_evicted_when_old)
{
    pool p(3, 10, 30s);
    std::vector<int> expired;
    p.acquire(t0, A, 1, expired);
    p.acquire(t0, A, 2, expired);
    p.release(10, A, true, t0);
    p.release(20, A, true, t0 + 20s);
    auto g = p.acquire(t0 + 25s, A, 3, expired);
    BOOST_TEST((g.kind == grant_kind::reuse));
    BOOST_TEST(*g.conn == 20);
    p.release(20, A, true, t0 + 25s);
    // At t0+31s connection 10 is 31 s idle: evicted (its slot freed); 20 is reused.
    g = p.acquire(t0 + 31s, A, 4, expired);
    BOOST_TEST(expired == std::vector<int>{10});
    BOOST_TEST(*g.conn == 20);
    BOOST_TEST(p.open() == 1u);
}

BOOST_AUTO_TEST_CASE(cancelled_waiter_leaves_the_queue)
{
    pool p(1, 10, 30s);
    std::vector<int> expired;
    p.acquire(t0, A, 1, expired);
    p.acquire(t0, A, 2, expired);
    p.acquire(t0, A, 3, expired);
    BOOST_TEST(p.cancel_waiter(2));
    BOOST_TEST(!p.cancel_waiter(2));
    auto h = p.release(7, A, true, t0).to;
    BOOST_REQUIRE(h);
    BOOST_TEST(h->waiter == 3);
}

BOOST_AUTO_TEST_CASE(failed_connect_returns_the_permit)
{
    pool p(1, 10, 30s);
    std::vector<int> expired;
    p.acquire(t0, A, 1, expired);
    p.acquire(t0, A, 2, expired);
    auto h = p.release_permit(A);
    BOOST_REQUIRE(h);
    BOOST_TEST(h->waiter == 2);
    BOOST_TEST((h->kind == grant_kind::open));
    BOOST_TEST(p.open() == 1u);
    BOOST_TEST(!p.release_permit(A));
    BOOST_TEST(p.open() == 0u);
}

BOOST_AUTO_TEST_CASE(shutdown_returns_idle_and_waiters)
{
    pool p(2, 10, 30s);
    std::vector<int> expired, closed;
    p.acquire(t0, A, 1, expired);
    p.acquire(t0, A, 2, expired);
    p.release(5, A, true, t0);
    // one in use, one idle; a waiter only appears once both are taken
    p.acquire(t0, A, 3, expired);
    BOOST_TEST((p.acquire(t0, A, 4, expired).kind == grant_kind::wait));
    auto w = p.shutdown(closed);
    BOOST_TEST(w == std::vector<int>{4});
    BOOST_TEST(closed.empty());  // the idle connection was taken by waiter 3
}

// ------------------------------------------------------------------------------------- execution contexts

BOOST_AUTO_TEST_CASE(a_connection_is_reused_only_on_its_own_context)
{
    pool p(4, 10, 30s);
    std::vector<int> expired;
    p.acquire(t0, A, 1, expired);
    p.release(10, A, true, t0);
    BOOST_TEST((p.acquire(t0, B, 2, expired).kind == grant_kind::open));  // not A's idle connection
    auto g = p.acquire(t0, A, 3, expired);
    BOOST_TEST((g.kind == grant_kind::reuse));
    BOOST_TEST(*g.conn == 10);
    BOOST_TEST(p.open_in(A) == 1u);
    BOOST_TEST(p.open_in(B) == 1u);
}

BOOST_AUTO_TEST_CASE(the_cap_is_global_and_an_idle_connection_elsewhere_gives_up_its_slot)
{
    pool p(2, 10, 30s);
    std::vector<int> expired;
    p.acquire(t0, A, 1, expired);
    p.acquire(t0, A, 2, expired);
    p.release(10, A, true, t0);
    p.release(20, A, true, t0 + 1s);
    // B finds the cap reached, but A has idle connections: the least recently used one closes for B.
    BOOST_TEST((p.acquire(t0 + 2s, B, 3, expired).kind == grant_kind::open));
    BOOST_TEST(expired == std::vector<int>{10});
    BOOST_TEST(p.open() == 2u);
    BOOST_TEST(p.open_in(A) == 1u);
    BOOST_TEST(p.open_in(B) == 1u);
    // Nothing idle anywhere now: the next caller waits.
    p.acquire(t0 + 2s, A, 4, expired);  // takes A's idle 20
    BOOST_TEST((p.acquire(t0 + 2s, C, 5, expired).kind == grant_kind::wait));
}

BOOST_AUTO_TEST_CASE(a_returned_connection_goes_to_a_waiter_of_its_context_within_its_fair_share)
{
    pool p(4, 10, 30s);
    std::vector<int> expired;
    for (int i = 1; i <= 2; ++i) p.acquire(t0, A, i, expired);
    for (int i = 3; i <= 4; ++i) p.acquire(t0, B, i, expired);
    BOOST_TEST((p.acquire(t0, B, 5, expired).kind == grant_kind::wait));  // B waits first
    BOOST_TEST((p.acquire(t0, A, 6, expired).kind == grant_kind::wait));
    // A holds 2 of 4 = its share: its connection goes to its own waiter, no reconnect.
    auto r = p.release(10, A, true, t0);
    BOOST_REQUIRE(r.to);
    BOOST_TEST(r.to->waiter == 6);
    BOOST_TEST((r.to->kind == grant_kind::reuse));
    BOOST_TEST(!r.close);
}

BOOST_AUTO_TEST_CASE(a_context_over_its_share_hands_its_slot_to_the_longest_waiter_elsewhere)
{
    pool p(4, 10, 30s);
    std::vector<int> expired;
    for (int i = 1; i <= 4; ++i) p.acquire(t0, A, i, expired);  // A holds every slot
    BOOST_TEST((p.acquire(t0, B, 5, expired).kind == grant_kind::wait));
    BOOST_TEST((p.acquire(t0, A, 6, expired).kind == grant_kind::wait));
    // Two contexts in use: a share is 2; A holds 4, so its returned connection closes and B gets the slot.
    auto r = p.release(10, A, true, t0);
    BOOST_REQUIRE(r.to);
    BOOST_TEST(r.to->waiter == 5);
    BOOST_TEST((r.to->kind == grant_kind::open));
    BOOST_REQUIRE(r.close);
    BOOST_TEST(*r.close == 10);
    BOOST_TEST(p.open() == 4u);
    BOOST_TEST(p.open_in(A) == 3u);
    BOOST_TEST(p.open_in(B) == 1u);
    // A still holds more than its share; with no one else waiting but A, A's own waiter gets the next one.
    r = p.release(11, A, true, t0);
    BOOST_REQUIRE(r.to);
    BOOST_TEST(r.to->waiter == 6);
    BOOST_TEST(!r.close);
}

BOOST_AUTO_TEST_CASE(a_context_going_away_drops_its_idle_connections_and_waiters)
{
    pool p(2, 10, 30s);
    std::vector<int> expired, closed;
    p.acquire(t0, A, 1, expired);
    p.acquire(t0, B, 2, expired);
    p.release(10, A, true, t0);
    BOOST_TEST((p.acquire(t0, B, 3, expired).kind == grant_kind::open));  // takes A's idle slot
    BOOST_TEST(expired == std::vector<int>{10});
    BOOST_TEST((p.acquire(t0, A, 4, expired).kind == grant_kind::wait));
    p.drop_context(A, closed);
    BOOST_TEST(p.waiting() == 0u);  // A's waiter is gone with its context
    auto r = p.release(20, B, true, t0);
    BOOST_TEST(!r.to);  // nobody to hand it to: idle
    BOOST_TEST(p.idle() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

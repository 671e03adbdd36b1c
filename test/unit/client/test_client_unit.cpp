#define BOOST_TEST_MODULE client_unit
#include <boost/test/unit_test.hpp>

#include "client_impl.hpp"

#include "detail/crypto.hpp"
#include "pool/pool_state.hpp"
#include "pipeline/retry.hpp"

#include <boost/json/parse.hpp>

#include <array>
#include <map>
#include <random>

using namespace smooch;
using namespace smooch::detail;
using namespace std::chrono_literals;

namespace {
const clock::time_point t0 = clock::time_point{} + 1000h;
}

// ------------------------------------------------------------------------------------------------ pool

BOOST_AUTO_TEST_SUITE(pool)

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

// ------------------------------------------------------------------------------------------------ retry

BOOST_AUTO_TEST_SUITE(retry)

BOOST_AUTO_TEST_CASE(failure_table_of_architecture_section_3)
{
    using f = failure_kind;
    // GET/DELETE/read/activity (idempotent) vs POST message (not), no opt-in.
    BOOST_TEST((classify(f::connect_failed, true, false) == verdict::retry));
    BOOST_TEST((classify(f::connect_failed, false, false) == verdict::retry));
    BOOST_TEST((classify(f::stale_connection, false, false) == verdict::replay_free));
    BOOST_TEST((classify(f::throttled, false, false) == verdict::retry));
    BOOST_TEST((classify(f::server_error, true, false) == verdict::retry));
    BOOST_TEST((classify(f::server_error, false, false) == verdict::fail_unknown));
    BOOST_TEST((classify(f::transport_after_send, true, false) == verdict::retry));
    BOOST_TEST((classify(f::transport_after_send, false, false) == verdict::fail_unknown));
    BOOST_TEST((classify(f::transport_after_send, false, true) == verdict::retry));
    BOOST_TEST((classify(f::permanent, true, true) == verdict::fail));
    BOOST_TEST((classify(f::cancelled, true, true) == verdict::fail));
    BOOST_TEST((classify(f::none, false, false) == verdict::done));
}

BOOST_AUTO_TEST_CASE(full_jitter_stays_within_the_exponential_ceiling)
{
    std::mt19937 rng(42);
    for (unsigned retry = 1; retry <= 12; ++retry) {
        auto ceiling = std::min<std::chrono::milliseconds>(100ms * (1 << (retry - 1)), 5s);
        std::chrono::milliseconds hi{0};
        for (int i = 0; i < 2000; ++i) {
            auto d = full_jitter(retry, 100ms, 5s, rng);
            BOOST_TEST(d.count() >= 0);
            BOOST_TEST(d <= ceiling);
            hi = std::max(hi, d);
        }
        BOOST_TEST(hi > ceiling / 2);  // it is jitter over the whole range, not a constant
    }
}

BOOST_AUTO_TEST_CASE(retry_after_delta_seconds)
{
    auto now = std::chrono::system_clock::now();
    BOOST_TEST(parse_retry_after("1", now).value() == 1000ms);
    BOOST_TEST(parse_retry_after(" 120 ", now).value() == 120000ms);
    BOOST_TEST(parse_retry_after("0", now).value() == 0ms);
    BOOST_TEST(parse_retry_after("99999999999999999999", now).value() > 100000h);  // saturates; the caller caps it
    BOOST_TEST(!parse_retry_after("", now));
    BOOST_TEST(!parse_retry_after("-1", now));
    BOOST_TEST(!parse_retry_after("1.5", now));
    BOOST_TEST(!parse_retry_after("soon", now));
}

BOOST_AUTO_TEST_CASE(retry_after_http_dates_in_all_three_forms)
{
    using namespace std::chrono;
    const system_clock::time_point date = sys_days(1994y / November / 6) + 8h + 49min + 37s;
    const auto now = date - 30s;
    BOOST_TEST(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now).value() == 30000ms);
    BOOST_TEST(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now).value() == 30000ms);
    BOOST_TEST(parse_retry_after("Sun Nov  6 08:49:37 1994", now).value() == 30000ms);
    BOOST_TEST(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", date + 1h).value() == 0ms);  // past: at once
    BOOST_TEST(!parse_retry_after("Sun, 31 Feb 1994 08:49:37 GMT", now));
    BOOST_TEST(!parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", now));
    BOOST_TEST(!parse_retry_after("Sun, 06 Nov 1994 25:49:37 GMT", now));
    BOOST_TEST(!parse_retry_after("Sun, 06 Nov 1994 08:49:37 PST", now));
}

BOOST_AUTO_TEST_CASE(budget_allows_floor_plus_ratio_of_recent_requests)
{
    retry_budget b(0.1, 2, 10s);
    for (int i = 0; i < 50; ++i) b.on_request(t0);
    int allowed = 0;
    for (int i = 0; i < 100; ++i) allowed += b.try_retry(t0);
    BOOST_TEST(allowed == 2 + 5);
    // The window slides: after 10 s the old requests and retries no longer count.
    BOOST_TEST(!b.try_retry(t0 + 9s));
    b.on_request(t0 + 11s);
    BOOST_TEST(b.try_retry(t0 + 11s));
}

BOOST_AUTO_TEST_CASE(retry_budget_counts_a_million_requests_in_constant_space)
{
    // A fan-out at 100k requests/s for 10 s: the budget must neither grow with the rate nor forget the window.
    retry_budget b(0.1, 0, 10s);
    static_assert(sizeof(retry_budget) < 512, "the budget is a fixed ring of counters");
    for (int i = 0; i < 1'000'000; ++i) b.on_request(t0 + 10us * i);  // t0 .. t0 + 10 s
    const auto now = t0 + 10s;
    int allowed = 0;
    for (int i = 0; i < 200'000 && b.try_retry(now); ++i) ++allowed;
    // 10 % of the requests of the last 10 s, give or take the oldest slice (a tenth of the window).
    BOOST_TEST(allowed >= 90'000);
    BOOST_TEST(allowed <= 100'000);
}

BOOST_AUTO_TEST_CASE(gate_holds_every_request_until_it_reopens_then_ramps_up)
{
    std::mt19937 rng(1);
    const auto never = clock::time_point::max();
    rate_gate g;
    BOOST_TEST((g.admit(t0, never, rng) == t0));
    g.close_until(t0, t0 + 1s);  // a 1 s pause: ramp intervals of 100 ms, 4 then 8, 16, 32, 64, 128 requests
    std::vector<clock::time_point> admitted;
    for (int i = 0; i < 200; ++i) admitted.push_back(*g.admit(t0 + 1ms * i, never, rng));
    std::array<int, 7> per_interval{};
    for (auto t : admitted) {
        BOOST_TEST_REQUIRE((t >= t0 + 1s));  // nobody before the gate reopens
        auto k = static_cast<std::size_t>((t - (t0 + 1s)) / 100ms);
        BOOST_TEST_REQUIRE(k < per_interval.size());
        ++per_interval[k];
    }
    // Exactly the ramp: a few at first, doubling each interval, so the herd never arrives at once.
    BOOST_TEST(per_interval[0] == 4);
    BOOST_TEST(per_interval[1] == 8);
    BOOST_TEST(per_interval[2] == 16);
    BOOST_TEST(per_interval[3] == 32);
    BOOST_TEST(per_interval[4] == 64);
    BOOST_TEST(per_interval[5] == 76);  // the rest (capacity 128)
    BOOST_TEST(per_interval[6] == 0);
    // Spread inside an interval too (jitter), not bunched at its start.
    auto [lo, hi] = std::minmax_element(admitted.begin(), admitted.begin() + 4);
    BOOST_TEST((*hi - *lo > 10ms));
    // A request arriving during the ramp gets a slot no earlier than now, in the current or a later interval.
    auto late = *g.admit(t0 + 1s + 250ms, never, rng);
    BOOST_TEST((late >= t0 + 1s + 250ms));
    // After the ramp (6 intervals) admission is immediate again.
    BOOST_TEST((*g.admit(t0 + 1s + 600ms, never, rng) == t0 + 1s + 600ms));
    // A shorter close does not reopen an already longer-closed gate.
    g.close_until(t0 + 2s, t0 + 3s);
    g.close_until(t0 + 2s, t0 + 2500ms);
    BOOST_TEST((g.closed_until() == t0 + 3s));
}

BOOST_AUTO_TEST_CASE(a_429_streak_without_retry_after_grows_the_pause_until_a_success)
{
    std::mt19937 rng(7);
    retry_params rp;
    rp.backoff_base = 100ms;
    rp.backoff_cap = 1s;
    rate_gate g;
    auto now = t0;
    auto sent = t0 - 1ms;
    auto last_429 = now;
    // Each 429 on a request sent after the previous 429: the pause is in [c/2, c], c = min(cap, base·2^(n-1)).
    const std::array<std::chrono::milliseconds, 6> ceiling = {100ms, 200ms, 400ms, 800ms, 1s, 1s};
    for (std::size_t n = 0; n < ceiling.size(); ++n) {
        auto d = g.on_throttled(now, sent, std::nullopt, rp, rng);
        last_429 = now;
        BOOST_TEST(g.streak() == n + 1);
        BOOST_TEST((d >= ceiling[n] / 2 && d <= ceiling[n]), "429 #" << n + 1 << ": " << d.count() << " ms");
        BOOST_TEST((g.closed_until() == now + d));
        // Requests already in flight when the gate closed bring no news: the streak does not grow.
        g.on_throttled(now + 1ms, sent, std::nullopt, rp, rng);
        BOOST_TEST(g.streak() == n + 1);
        // The next request goes after the gate reopens and is throttled again.
        sent = g.closed_until() + 1ms;
        now = sent + 1ms;
    }
    // A success of a request sent before the latest 429 says nothing; one sent after it ends the streak.
    g.on_success(last_429 - 1ms);
    BOOST_TEST(g.streak() == 6u);
    g.on_success(now + 1ms);
    BOOST_TEST(g.streak() == 0u);
    auto d = g.on_throttled(now + 2ms, now + 2ms, std::nullopt, rp, rng);
    BOOST_TEST((d >= 50ms && d <= 100ms));
    // With Retry-After the gate closes for the server's value, capped at max_retry_after.
    rate_gate r;
    rp.max_retry_after = 10s;
    BOOST_TEST((r.on_throttled(t0, t0, 30s, rp, rng) == 10s));
    BOOST_TEST((r.closed_until() == t0 + 10s));
}

BOOST_AUTO_TEST_CASE(a_streak_is_forgotten_after_a_quiet_period)
{
    std::mt19937 rng(3);
    retry_params rp;
    rp.backoff_base = 100ms;
    rp.backoff_cap = 1s;
    rate_gate g;
    auto d = g.on_throttled(t0, t0, std::nullopt, rp, rng);
    g.on_throttled(t0 + d + 5ms, t0 + d + 1ms, std::nullopt, rp, rng);
    BOOST_TEST(g.streak() == 2u);
    BOOST_TEST(!g.idle(t0 + 1s));  // open and past its ramp (< 0.5 s), but the streak is still live
    // Long after the ramp, with no 429: a new 429 starts from the shortest pause.
    auto later = t0 + 1h;
    BOOST_TEST(g.idle(later));
    d = g.on_throttled(later, later, std::nullopt, rp, rng);
    BOOST_TEST(g.streak() == 1u);
    BOOST_TEST((d <= 100ms));
}

BOOST_AUTO_TEST_CASE(client_side_limit_is_a_token_bucket)
{
    std::mt19937 rng(1);
    const auto never = clock::time_point::max();
    rate_gate g(rate_limit_params{.requests_per_second = 10, .burst = 3});
    std::vector<clock::time_point> t;
    for (int i = 0; i < 6; ++i) t.push_back(*g.admit(t0, never, rng));
    BOOST_TEST((t[0] == t0 && t[1] == t0 && t[2] == t0));  // the burst
    BOOST_TEST((t[3] == t0 + 100ms));
    BOOST_TEST((t[4] == t0 + 200ms));
    BOOST_TEST((t[5] == t0 + 300ms));
}

BOOST_AUTO_TEST_CASE(admission_checks_the_deadline_before_taking_a_token)
{
    std::mt19937 rng(1);
    const auto never = clock::time_point::max();
    rate_gate g(rate_limit_params{.requests_per_second = 10, .burst = 1});
    BOOST_TEST((g.admit(t0, t0 + 50ms, rng) == t0));
    // The next token is 100 ms away: past a 50 ms deadline. Refused, and nothing is debited, however often.
    for (int i = 0; i < 20; ++i) BOOST_TEST(!g.admit(t0, t0 + 50ms, rng));
    BOOST_TEST((g.admit(t0, never, rng) == t0 + 100ms));  // not +2.1 s: the refusals cost nothing
    // The same for a gate closed past the deadline: refused without taking a ramp slot or a token.
    rate_gate c(rate_limit_params{.requests_per_second = 10, .burst = 1});
    c.close_until(t0, t0 + 1s);
    for (int i = 0; i < 10; ++i) BOOST_TEST(!c.admit(t0, t0 + 500ms, rng));
    auto first = *c.admit(t0, never, rng);
    BOOST_TEST((first >= t0 + 1s && first < t0 + 1100ms));  // still the first slot of the first interval
}

BOOST_AUTO_TEST_CASE(a_request_that_never_went_gives_its_token_back)
{
    std::mt19937 rng(1);
    const auto never = clock::time_point::max();
    rate_gate g(rate_limit_params{.requests_per_second = 10, .burst = 1});
    BOOST_TEST((g.admit(t0, never, rng) == t0));
    BOOST_TEST((g.admit(t0, never, rng) == t0 + 100ms));
    g.refund();  // that one was cancelled while it waited at the gate
    BOOST_TEST((g.admit(t0, never, rng) == t0 + 100ms));  // the schedule did not run away
    // A refund never overfills the bucket.
    rate_gate h(rate_limit_params{.requests_per_second = 10, .burst = 2});
    h.refund();
    h.refund();
    BOOST_TEST((h.admit(t0, never, rng) == t0));
    BOOST_TEST((h.admit(t0, never, rng) == t0));
    BOOST_TEST((h.admit(t0, never, rng) == t0 + 100ms));
}

BOOST_AUTO_TEST_CASE(idle_gates_are_dropped_from_a_large_table)
{
    std::mt19937 rng(1);
    const auto never = clock::time_point::max();
    retry_params rp;
    // idle(): open, not ramping, no streak, bucket full.
    rate_gate limited(rate_limit_params{.requests_per_second = 10, .burst = 2});
    BOOST_TEST(limited.idle(t0));
    limited.admit(t0, never, rng);
    BOOST_TEST(!limited.idle(t0 + 50ms));   // a token is missing
    BOOST_TEST(limited.idle(t0 + 100ms));   // refilled
    rate_gate throttled;
    auto d = throttled.on_throttled(t0, t0, std::nullopt, rp, rng);
    BOOST_TEST(!throttled.idle(t0 + d / 2));  // closed
    BOOST_TEST(!throttled.idle(t0 + d + 1ms)); // ramping, and the streak is live
    throttled.on_success(t0 + d + 1ms);
    BOOST_TEST(throttled.idle(t0 + d + 1s));  // ramp over, streak ended

    // A table fed one new app id after another stays bounded; busy gates survive the sweeps.
    std::map<std::string, rate_gate, std::less<>> gates;
    gate_for(gates, "hot", t0, {}).on_throttled(t0, t0, 60s, rp, rng);
    const rate_limit_params none{};
    for (int i = 0; i < 5000; ++i) {
        const auto now = t0 + 1ms * i;
        auto app = "app_" + std::to_string(i);
        BOOST_TEST_REQUIRE(gate_for(gates, app, now, none).admit(now, never, rng).has_value());
        BOOST_TEST_REQUIRE(gates.size() <= gate_sweep_threshold + gate_sweep_every);
    }
    BOOST_TEST(gates.count("hot") == 1u);
    BOOST_TEST((gates.find("hot")->second.closed_until() == t0 + 60s));
}

BOOST_AUTO_TEST_SUITE_END()

// ------------------------------------------------------------------------------------- retry decisions

BOOST_AUTO_TEST_SUITE(decisions)

attempt_outcome response(unsigned status, std::optional<std::chrono::milliseconds> retry_after = std::nullopt)
{
    attempt_outcome o;
    o.status = status;
    o.connected = o.request_sent = true;
    o.has_retry_after = retry_after.has_value();
    o.retry_after = retry_after;
    return o;
}

attempt_outcome failure(error_code ec, bool sent, bool connected = true)
{
    attempt_outcome o;
    o.ec = ec;
    o.connected = connected;
    o.request_sent = sent;
    return o;
}

retry_params fast()
{
    retry_params rp;
    rp.backoff_base = 10ms;
    rp.backoff_cap = 40ms;
    return rp;
}

const auto never = clock::time_point::max();
constexpr bool post = false, get = true;

BOOST_AUTO_TEST_CASE(success_and_retries_of_idempotent_calls)
{
    std::mt19937 rng(1);
    retry_budget budget(0.2, 10, 10s);
    retry_state s(fast(), get, never);
    auto d = s.on_attempt(response(502), t0, budget, rng);
    BOOST_TEST((d.next == next_step::retry));
    BOOST_TEST((d.kind == failure_kind::server_error));
    BOOST_TEST((d.delay >= 0ms && d.delay <= 10ms));  // full jitter, retry 1
    d = s.on_attempt(failure(boost::asio::error::connection_reset, true), t0, budget, rng);
    BOOST_TEST((d.next == next_step::retry));
    BOOST_TEST((d.kind == failure_kind::transport_after_send));
    BOOST_TEST((d.delay <= 20ms));  // retry 2
    d = s.on_attempt(response(200), t0, budget, rng);
    BOOST_TEST((d.next == next_step::succeed));
    BOOST_TEST((d.reason == stop_reason::success));
    BOOST_TEST(s.attempts() == 3u);
    BOOST_TEST(!s.outcome_unknown());
}

BOOST_AUTO_TEST_CASE(fail_fast_when_the_backoff_would_pass_the_deadline)
{
    retry_params rp;
    rp.backoff_base = 2s;
    rp.backoff_cap = 2s;
    int stopped = 0, retried = 0;
    for (unsigned seed = 1; seed <= 200; ++seed) {
        std::mt19937 rng(seed);
        retry_budget budget(0, 1000, 10s);
        retry_state s(rp, get, t0 + 300ms);
        // The attempt failed at t0 + 10 ms: 290 ms remain.
        auto d = s.on_attempt(response(500), t0 + 10ms, budget, rng);
        if (d.next == next_step::stop) {
            ++stopped;
            BOOST_TEST((d.delay > 290ms));
            BOOST_TEST((d.reason == stop_reason::deadline));
            BOOST_TEST((d.ec == client_errc::deadline_exceeded));  // not the 500: no Retry-After was involved
            BOOST_TEST(d.message.find("HTTP 500") != std::string::npos, d.message);
        } else {
            ++retried;
            BOOST_TEST((d.next == next_step::retry));
            BOOST_TEST((d.delay <= 290ms));
        }
    }
    BOOST_TEST(stopped > 100);  // 2 s of jitter rarely fits into 290 ms...
    BOOST_TEST(retried > 0);    // ...but sometimes does, and then it is taken
}

BOOST_AUTO_TEST_CASE(retry_after_past_the_deadline_is_rate_limited_and_the_wait_is_capped)
{
    std::mt19937 rng(1);
    retry_budget budget(0.2, 10, 10s);
    retry_params rp = fast();
    retry_state s(rp, post, t0 + 300ms);
    // 503 + Retry-After: the server did not process it, so even a post may retry; 30 s does not fit.
    auto d = s.on_attempt(response(503, 30s), t0, budget, rng);
    BOOST_TEST((d.kind == failure_kind::throttled));
    BOOST_TEST((d.next == next_step::stop));
    BOOST_TEST((d.reason == stop_reason::deadline));
    BOOST_TEST((d.ec == client_errc::rate_limited));
    BOOST_TEST(!s.outcome_unknown());
    // The wait is capped at max_retry_after; a capped wait that fits is taken.
    rp.max_retry_after = 100ms;
    retry_state c(rp, post, t0 + 300ms);
    d = c.on_attempt(response(503, 30s), t0, budget, rng);
    BOOST_TEST((d.next == next_step::retry));
    BOOST_TEST((d.delay == 100ms));
    // A 429 closed the gate: the gate does the waiting, and its reopening must fit too.
    retry_state g(fast(), post, t0 + 300ms);
    auto o = response(429);
    o.gate_wait = 50ms;
    d = g.on_attempt(o, t0, budget, rng);
    BOOST_TEST((d.next == next_step::retry));
    BOOST_TEST(d.at_gate);
    BOOST_TEST((d.delay == 50ms));
    o.gate_wait = 1s;  // no Retry-After: the gate's own backoff does not fit
    d = g.on_attempt(o, t0, budget, rng);
    BOOST_TEST((d.ec == client_errc::deadline_exceeded));
    o = response(429, 1s);
    o.gate_wait = 1s;  // the server's Retry-After does not fit
    d = g.on_attempt(o, t0, budget, rng);
    BOOST_TEST((d.ec == client_errc::rate_limited));
}

BOOST_AUTO_TEST_CASE(throttling_uses_neither_attempts_nor_budget)
{
    // A bulk fan-out must ride out a long stretch of 429s: they are refusals, not failures.
    std::mt19937 rng(1);
    retry_params rp = fast();
    rp.max_attempts = 2;
    rp.max_throttled_retries = 5;
    retry_budget empty(0, 0, 10s);  // no retry budget at all
    retry_state s(rp, post, t0 + 1h);
    auto throttled = response(429);
    throttled.gate_wait = 10ms;
    for (int i = 0; i < 5; ++i) {
        auto d = s.on_attempt(throttled, t0, empty, rng);
        BOOST_TEST_REQUIRE((d.next == next_step::retry), "429 #" << i + 1);
        BOOST_TEST(d.at_gate);
    }
    // The sixth 429 passes max_throttled_retries (only relevant without a deadline).
    auto d = s.on_attempt(throttled, t0, empty, rng);
    BOOST_TEST((d.next == next_step::stop));
    BOOST_TEST((d.reason == stop_reason::attempts_exhausted));

    // Failures still count against max_attempts, 429s in between or not; the budget applies to them.
    retry_budget some(0, 1, 10s);
    retry_state g(rp, get, t0 + 1h);
    BOOST_TEST((g.on_attempt(throttled, t0, some, rng).next == next_step::retry));
    BOOST_TEST((g.on_attempt(response(502), t0, some, rng).next == next_step::retry));  // failure 1: budget 1 used
    BOOST_TEST((g.on_attempt(throttled, t0, some, rng).next == next_step::retry));
    d = g.on_attempt(response(502), t0, some, rng);  // failure 2 = max_attempts
    BOOST_TEST((d.reason == stop_reason::attempts_exhausted));

    // Nor do 429s lengthen the backoff of a later failure: after three 429s, the first failure backs off as
    // retry 1 (≤ base = 10 ms), not as retry 4 (≤ 40 ms).
    retry_budget plenty(0, 1000, 10s);
    for (unsigned seed = 1; seed <= 50; ++seed) {
        std::mt19937 r(seed);
        retry_state h(rp, get, t0 + 1h);
        for (int i = 0; i < 3; ++i)
            BOOST_TEST_REQUIRE((h.on_attempt(throttled, t0, plenty, r).next == next_step::retry));
        d = h.on_attempt(response(502), t0, plenty, r);
        BOOST_TEST_REQUIRE((d.next == next_step::retry));
        BOOST_TEST((d.delay <= 10ms), "seed " << seed << ": " << d.delay.count() << " ms");
    }
}

BOOST_AUTO_TEST_CASE(one_free_replay_for_a_stale_connection)
{
    std::mt19937 rng(1);
    retry_budget budget(0, 0, 10s);  // no retry at all in the budget: the replay must not need one
    retry_state s(fast(), post, never);
    auto stale = failure(boost::asio::error::broken_pipe, false);
    stale.stale = true;
    auto d = s.on_attempt(stale, t0, budget, rng);
    BOOST_TEST((d.next == next_step::replay));
    BOOST_TEST(s.attempts() == 0u);
    // A second dead connection in a row is an ordinary retry (here: refused by the empty budget).
    d = s.on_attempt(stale, t0, budget, rng);
    BOOST_TEST((d.kind == failure_kind::stale_connection));
    BOOST_TEST((d.reason == stop_reason::budget_exhausted));
    BOOST_TEST((d.ec == client_errc::retry_budget_exhausted));
    BOOST_TEST(s.attempts() == 1u);
    BOOST_TEST(!s.outcome_unknown());  // nothing was written
}

BOOST_AUTO_TEST_CASE(stop_reasons)
{
    std::mt19937 rng(1);
    retry_budget budget(0.2, 10, 10s);
    {
        retry_params rp = fast();
        rp.max_attempts = 3;
        retry_state s(rp, get, never);
        BOOST_TEST((s.on_attempt(response(502), t0, budget, rng).next == next_step::retry));
        BOOST_TEST((s.on_attempt(response(502), t0, budget, rng).next == next_step::retry));
        auto d = s.on_attempt(response(502), t0, budget, rng);
        BOOST_TEST((d.reason == stop_reason::attempts_exhausted));
        BOOST_TEST((d.ec == make_http_error(502)));  // the last failure
    }
    {
        retry_state s(fast(), get, never);
        auto d = s.on_attempt(response(404), t0, budget, rng);
        BOOST_TEST((d.reason == stop_reason::permanent_error));
        BOOST_TEST((d.ec == make_http_error(404)));
        auto v = failure(boost::asio::error::connection_refused, false);
        v.verify_failed = true;
        retry_state t(fast(), get, never);
        BOOST_TEST((t.on_attempt(v, t0, budget, rng).reason == stop_reason::permanent_error));
    }
    {
        retry_budget small(0, 1, 10s);
        retry_state s(fast(), get, never);
        BOOST_TEST((s.on_attempt(response(500), t0, small, rng).next == next_step::retry));
        auto d = s.on_attempt(response(500), t0, small, rng);
        BOOST_TEST((d.reason == stop_reason::budget_exhausted));
        BOOST_TEST((d.ec == client_errc::retry_budget_exhausted));
        BOOST_TEST(d.message.find("HTTP 500") != std::string::npos, d.message);
    }
    {
        // A retry stopped by the deadline does not spend the budget.
        retry_budget one(0, 1, 10s);
        retry_params rp;
        rp.backoff_base = rp.backoff_cap = 10s;
        retry_state s(rp, get, t0 + 1ms);
        std::mt19937 r2(5);
        auto d = s.on_attempt(response(503, 5s), t0, one, r2);
        BOOST_TEST((d.reason == stop_reason::deadline));
        BOOST_TEST(one.try_retry(t0));
    }
    {
        retry_state s(fast(), get, never);
        auto d = s.on_attempt(failure(client_errc::deadline_exceeded, false, false), t0, budget, rng);
        BOOST_TEST((d.reason == stop_reason::deadline));
        BOOST_TEST((d.ec == client_errc::deadline_exceeded));
        d = retry_state(fast(), get, never).on_cancelled({});
        BOOST_TEST((d.reason == stop_reason::cancelled));
        BOOST_TEST((d.ec == boost::asio::error::operation_aborted));
        d = retry_state(fast(), get, never).on_gate_after_deadline();
        BOOST_TEST((d.reason == stop_reason::deadline));
        BOOST_TEST((d.ec == client_errc::rate_limited));
    }
}

BOOST_AUTO_TEST_CASE(outcome_unknown_whenever_a_post_may_have_been_applied)
{
    std::mt19937 rng(1);
    retry_budget budget(0.2, 10, 10s);
    auto ends = [&](std::vector<attempt_outcome> attempts, bool idempotent = post, bool opt_in = false) {
        retry_params rp = fast();
        rp.retry_unknown_outcome = opt_in;
        retry_state s(rp, idempotent, never);
        decision d;
        for (auto& o : attempts) d = s.on_attempt(o, t0, budget, rng);
        return std::pair{d, s.outcome_unknown()};
    };
    using boost::asio::error::operation_aborted;
    // Reset after sending, or a plain 5xx: stop, outcome unknown.
    auto [reset, u1] = ends({failure(boost::asio::error::connection_reset, true)});
    BOOST_TEST((reset.reason == stop_reason::not_idempotent));
    BOOST_TEST((reset.ec == client_errc::outcome_unknown));
    BOOST_TEST(u1);
    BOOST_TEST(ends({response(500)}).second);
    // The deadline or a cancellation cut the exchange after bytes left: unknown, with the real reason.
    auto [late, u2] = ends({failure(client_errc::deadline_exceeded, true)});
    BOOST_TEST((late.reason == stop_reason::deadline));
    BOOST_TEST((late.ec == client_errc::deadline_exceeded));
    BOOST_TEST(u2);
    auto [cut, u3] = ends({failure(operation_aborted, true)});
    BOOST_TEST((cut.reason == stop_reason::cancelled));
    BOOST_TEST(u3);
    // An oversized response after sending: the server may well have stored it.
    auto [big, u4] = ends({failure(client_errc::response_too_large, true)});
    BOOST_TEST((big.reason == stop_reason::permanent_error));
    BOOST_TEST(u4);
    // Nothing sent: known not applied.
    BOOST_TEST(!ends({failure(client_errc::deadline_exceeded, false, false)}).second);  // in the pool queue
    BOOST_TEST(!ends({failure(operation_aborted, false, false)}).second);
    BOOST_TEST(!ends({failure(boost::asio::error::connection_refused, false, false), failure(operation_aborted, false, false)}).second);
    // Definitive answers: a 4xx, a 429, a 503 with Retry-After said "not applied".
    BOOST_TEST(!ends({response(401)}).second);
    BOOST_TEST(!ends({response(503, 0s), failure(operation_aborted, false, false)}).second);
    BOOST_TEST(!ends({response(503, 0s), response(400)}).second);
    // Any earlier attempt that may have been applied keeps the outcome unknown (opt-in retries).
    BOOST_TEST(ends({failure(boost::asio::error::connection_reset, true), response(400)}, post, true).second);
    BOOST_TEST(ends({response(500), failure(operation_aborted, false, false)}, post, true).second);
    BOOST_TEST(!ends({failure(boost::asio::error::connection_reset, true), response(201)}, post, true).second);
    // Idempotent calls never report it.
    BOOST_TEST(!ends({failure(client_errc::deadline_exceeded, true)}, get).second);
}

BOOST_AUTO_TEST_SUITE_END()


// ------------------------------------------------------------------------------------------- credentials

BOOST_AUTO_TEST_SUITE(credentials)

BOOST_AUTO_TEST_CASE(hs256_matches_published_vectors)
{
    // The jwt.io / RFC 7519-style example token.
    BOOST_TEST(hs256_signature("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwi"
                               "aWF0IjoxNTE2MjM5MDIyfQ",
                               "your-256-bit-secret") == "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");
    // RFC 7515 Appendix A.1.
    auto key = base64url_decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
    BOOST_REQUIRE(key);
    BOOST_TEST(hs256_signature("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQog"
                               "Imh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
                               *key) == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
}

BOOST_AUTO_TEST_CASE(signed_jwt_has_kid_scope_user_and_exp)
{
    jwt_credentials c{.key_id = "app_123", .secret = "s3cret", .scope = jwt_scope::app_user, .user_id = "42",
                      .lifetime = 3600s};
    const auto now = std::chrono::system_clock::time_point{} + 1700000000s;
    std::string token = sign_jwt(c, now);
    auto dot1 = token.find('.');
    auto dot2 = token.find('.', dot1 + 1);
    auto header = boost::json::parse(*base64url_decode(token.substr(0, dot1)));
    auto payload = boost::json::parse(*base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1)));
    BOOST_TEST(header.at("alg").as_string() == "HS256");
    BOOST_TEST(header.at("kid").as_string() == "app_123");
    BOOST_TEST(payload.at("scope").as_string() == "appUser");
    BOOST_TEST(payload.at("userId").as_string() == "42");  // a JSON string, never a number
    BOOST_TEST(payload.at("iat").as_int64() == 1700000000);
    BOOST_TEST(payload.at("exp").as_int64() == 1700003600);
    BOOST_TEST(token.substr(dot2 + 1) == hs256_signature(token.substr(0, dot2), "s3cret"));
}

BOOST_AUTO_TEST_CASE(tokens_with_exp_are_resigned_before_they_expire)
{
    authorizer a(jwt_credentials{.key_id = "k", .secret = "s", .lifetime = 100s});
    const auto now = std::chrono::system_clock::time_point{} + 1700000000s;
    auto h1 = a.header(now);
    BOOST_TEST(a.header(now + 80s) == h1);   // still fresh
    auto h2 = a.header(now + 91s);           // past nine tenths: re-signed
    BOOST_TEST(h2 != h1);
    BOOST_TEST(h2.rfind("Bearer ", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(basic_header_and_incomplete_credentials)
{
    authorizer a(basic_auth{"app_1", "secret"});
    BOOST_TEST(a.header({}) == "Basic " + base64_encode("app_1:secret"));
    BOOST_CHECK_THROW(authorizer(basic_auth{"", "x"}).check(), smooch::error);
    BOOST_CHECK_THROW(authorizer(jwt_credentials{.key_id = "k", .secret = "s", .scope = jwt_scope::app_user}).check(),
                      smooch::error);
    BOOST_CHECK_THROW(authorizer(bearer_token{"abc\r\nX-Evil: 1"}).check(), smooch::error);
    try {
        authorizer(basic_auth{"", "topsecret"}).check();
    } catch (const smooch::error& e) {
        BOOST_TEST(std::string(e.what()).find("topsecret") == std::string::npos);
        BOOST_TEST((e.code() == client_errc::invalid_credentials));
    }
}

BOOST_AUTO_TEST_SUITE_END()

// --------------------------------------------------------------------------------------------- base URL

BOOST_AUTO_TEST_SUITE(urls)

BOOST_AUTO_TEST_CASE(base_url_rules)
{
    diagnostics d;
    error_code ec;
    auto o = parse_base_url("https://api.smooch.io", d, ec);
    BOOST_TEST(!ec);
    BOOST_TEST(o.host == "api.smooch.io");
    BOOST_TEST(o.port == "443");
    o = parse_base_url("http://127.0.0.1:8080/prefix/", d, ec);
    BOOST_TEST(!ec);
    BOOST_TEST(!o.tls);
    BOOST_TEST(o.path_prefix == "/prefix");
    o = parse_base_url("http://[::1]:9/", d, ec);
    BOOST_TEST(!ec);
    BOOST_TEST(o.host == "::1");
    for (const char* bad : {"http://api.smooch.io", "ftp://x", "https://", "not a url", "https://u:p@host",
                            "https://host?x=1", "https://host:99999"}) {
        ec = {};
        parse_base_url(bad, d, ec);
        BOOST_TEST((ec == client_errc::invalid_url), bad);
    }
}

BOOST_AUTO_TEST_CASE(segments_are_fully_percent_encoded)
{
    BOOST_TEST(encode_segment("abc-_.~XYZ09") == "abc-_.~XYZ09");
    BOOST_TEST(encode_segment("a/b?c#d%e f") == "a%2Fb%3Fc%23d%25e%20f");
    BOOST_TEST(encode_segment("x\r\nHost: evil") == "x%0D%0AHost%3A%20evil");
    BOOST_TEST(encode_segment("\xc3\xa9") == "%C3%A9");
    BOOST_TEST(encode_segment("..") == "%2E%2E");  // never a dot-segment that could climb the path
    BOOST_TEST(encode_segment(".") == "%2E");
    BOOST_TEST(encode_segment("a..b") == "a..b");
}

BOOST_AUTO_TEST_SUITE_END()

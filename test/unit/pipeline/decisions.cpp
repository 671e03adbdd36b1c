// SPDX-License-Identifier: BSL-1.0
// The sans-I/O decisions of the pipeline: the failure table, backoff, Retry-After, budget, the per-app gate and
// the retry state. Time is passed in.

#include <boost/test/unit_test.hpp>

#include "pipeline/backoff.hpp"
#include "pipeline/classify.hpp"
#include "pipeline/rate_gate.hpp"
#include "pipeline/retry_after.hpp"
#include "pipeline/retry_budget.hpp"
#include "pipeline/retry_state.hpp"

#include <array>
#include <map>
#include <random>

using namespace smooch;
using namespace smooch::detail;
using namespace std::chrono_literals;

namespace {
const clock::time_point t0 = clock::time_point{} + 1000h;
}  // namespace

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

BOOST_AUTO_TEST_CASE(retry_after_dates_outside_the_clock_range)
{
    // Found by fuzzing (test/fuzz/regressions/retry_after): years the clock's nanoseconds cannot hold
    // overflowed (undefined behaviour). Long past: at once; far future: a long wait, which callers cap.
    using namespace std::chrono;
    const system_clock::time_point now = sys_days(2026y / December / 2) + 12h;
    BOOST_TEST(parse_retry_after("Sun, 06 Nov 1194 08:49:37 GMT", now).value() == 0ms);
    BOOST_TEST(parse_retry_after("Sun Nov  6 08:49:37 0000", now).value() == 0ms);
    BOOST_TEST(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now).value() > 24h * 365 * 7000);
    BOOST_TEST(parse_retry_after("Wed, 02 Dec 2026 12:00:01 GMT", now - 1ms).value() == 1001ms);  // rounded up
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
    g.refund();                                           // that one was cancelled while it waited at the gate
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
    BOOST_TEST(!limited.idle(t0 + 50ms));  // a token is missing
    BOOST_TEST(limited.idle(t0 + 100ms));  // refilled
    rate_gate throttled;
    auto d = throttled.on_throttled(t0, t0, std::nullopt, rp, rng);
    BOOST_TEST(!throttled.idle(t0 + d / 2));    // closed
    BOOST_TEST(!throttled.idle(t0 + d + 1ms));  // ramping, and the streak is live
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

/// An attempt's result and, when a 429 closed the gate, how long for: what retry_state::on_attempt takes.
struct attempt : attempt_result {
    std::optional<std::chrono::milliseconds> gate_wait;
};

template <class Rng>
decision decide(retry_state& s, const attempt& a, clock::time_point now, retry_budget& budget, Rng& rng)
{
    return s.on_attempt(a, a.gate_wait, now, budget, rng);
}

attempt response(unsigned status, std::optional<std::chrono::milliseconds> retry_after = std::nullopt)
{
    attempt o;
    o.status = status;
    o.connected = o.request_sent = true;
    o.has_retry_after = retry_after.has_value();
    o.retry_after = retry_after;
    return o;
}

attempt failure(error_code ec, bool sent, bool connected = true)
{
    attempt o;
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
    retry_state s(fast(), call_semantics{get}, never);
    auto d = decide(s, response(502), t0, budget, rng);
    BOOST_TEST((d.next == next_step::retry));
    BOOST_TEST((d.kind == failure_kind::server_error));
    BOOST_TEST((d.delay >= 0ms && d.delay <= 10ms));  // full jitter, retry 1
    d = decide(s, failure(boost::asio::error::connection_reset, true), t0, budget, rng);
    BOOST_TEST((d.next == next_step::retry));
    BOOST_TEST((d.kind == failure_kind::transport_after_send));
    BOOST_TEST((d.delay <= 20ms));  // retry 2
    d = decide(s, response(200), t0, budget, rng);
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
        retry_state s(rp, call_semantics{get}, t0 + 300ms);
        // The attempt failed at t0 + 10 ms: 290 ms remain.
        auto d = decide(s, response(500), t0 + 10ms, budget, rng);
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
    retry_state s(rp, call_semantics{post}, t0 + 300ms);
    // 503 + Retry-After: the server did not process it, so even a post may retry; 30 s does not fit.
    auto d = decide(s, response(503, 30s), t0, budget, rng);
    BOOST_TEST((d.kind == failure_kind::throttled));
    BOOST_TEST((d.next == next_step::stop));
    BOOST_TEST((d.reason == stop_reason::deadline));
    BOOST_TEST((d.ec == client_errc::rate_limited));
    BOOST_TEST(!s.outcome_unknown());
    // The wait is capped at max_retry_after; a capped wait that fits is taken.
    rp.max_retry_after = 100ms;
    retry_state c(rp, call_semantics{post}, t0 + 300ms);
    d = decide(c, response(503, 30s), t0, budget, rng);
    BOOST_TEST((d.next == next_step::retry));
    BOOST_TEST((d.delay == 100ms));
    // A 429 closed the gate: the gate does the waiting, and its reopening must fit too.
    retry_state g(fast(), call_semantics{post}, t0 + 300ms);
    auto o = response(429);
    o.gate_wait = 50ms;
    d = decide(g, o, t0, budget, rng);
    BOOST_TEST((d.next == next_step::retry));
    BOOST_TEST(d.at_gate);
    BOOST_TEST((d.delay == 50ms));
    // One truthful code and text per case (each of these once claimed a Retry-After, or a plain deadline):
    o.gate_wait = 1s;  // no Retry-After: the gate's own pause does not fit
    d = decide(g, o, t0, budget, rng);
    BOOST_TEST((d.ec == client_errc::rate_limited));
    BOOST_TEST(d.message.find("without Retry-After") != std::string::npos, d.message);
    BOOST_TEST(d.message.find("1000 ms, 300 ms left") != std::string::npos, d.message);
    o = response(429, 1s);
    o.gate_wait = 1s;  // the server's Retry-After does not fit
    d = decide(g, o, t0, budget, rng);
    BOOST_TEST((d.ec == client_errc::rate_limited));
    BOOST_TEST(d.message.find("the server's Retry-After") != std::string::npos, d.message);
    BOOST_TEST(retry_state(fast(), call_semantics{get}, never).on_gate_after_deadline(true).message.find("429") !=
               std::string::npos);
    BOOST_TEST(retry_state(fast(), call_semantics{get}, never)
                   .on_gate_after_deadline(false)
                   .message.find("client-side rate limit") != std::string::npos);
    const auto category_text = make_error_code(client_errc::rate_limited).message();
    BOOST_TEST(category_text.find("Retry-After") == std::string::npos, category_text);
}

BOOST_AUTO_TEST_CASE(throttling_uses_neither_attempts_nor_budget)
{
    // A bulk fan-out must ride out a long stretch of 429s: they are refusals, not failures.
    std::mt19937 rng(1);
    retry_params rp = fast();
    rp.max_attempts = 2;
    rp.max_throttled_retries = 5;
    retry_budget empty(0, 0, 10s);  // no retry budget at all
    retry_state s(rp, call_semantics{post}, t0 + 1h);
    auto throttled = response(429);
    throttled.gate_wait = 10ms;
    for (int i = 0; i < 5; ++i) {
        auto d = decide(s, throttled, t0, empty, rng);
        BOOST_TEST_REQUIRE((d.next == next_step::retry), "429 #" << i + 1);
        BOOST_TEST(d.at_gate);
    }
    // The sixth 429 passes max_throttled_retries (only relevant without a deadline).
    auto d = decide(s, throttled, t0, empty, rng);
    BOOST_TEST((d.next == next_step::stop));
    BOOST_TEST((d.reason == stop_reason::attempts_exhausted));

    // Failures still count against max_attempts, 429s in between or not; the budget applies to them.
    retry_budget some(0, 1, 10s);
    retry_state g(rp, call_semantics{get}, t0 + 1h);
    BOOST_TEST((decide(g, throttled, t0, some, rng).next == next_step::retry));
    BOOST_TEST((decide(g, response(502), t0, some, rng).next == next_step::retry));  // failure 1: budget 1 used
    BOOST_TEST((decide(g, throttled, t0, some, rng).next == next_step::retry));
    d = decide(g, response(502), t0, some, rng);  // failure 2 = max_attempts
    BOOST_TEST((d.reason == stop_reason::attempts_exhausted));

    // Nor do 429s lengthen the backoff of a later failure: after three 429s, the first failure backs off as
    // retry 1 (≤ base = 10 ms), not as retry 4 (≤ 40 ms).
    retry_budget plenty(0, 1000, 10s);
    for (unsigned seed = 1; seed <= 50; ++seed) {
        std::mt19937 r(seed);
        retry_state h(rp, call_semantics{get}, t0 + 1h);
        for (int i = 0; i < 3; ++i) BOOST_TEST_REQUIRE((decide(h, throttled, t0, plenty, r).next == next_step::retry));
        d = decide(h, response(502), t0, plenty, r);
        BOOST_TEST_REQUIRE((d.next == next_step::retry));
        BOOST_TEST((d.delay <= 10ms), "seed " << seed << ": " << d.delay.count() << " ms");
    }
}

BOOST_AUTO_TEST_CASE(one_free_replay_for_a_stale_connection)
{
    std::mt19937 rng(1);
    retry_budget budget(0, 0, 10s);  // no retry at all in the budget: the replay must not need one
    retry_state s(fast(), call_semantics{post}, never);
    auto stale = failure(boost::asio::error::broken_pipe, false);
    stale.stale = true;
    auto d = decide(s, stale, t0, budget, rng);
    BOOST_TEST((d.next == next_step::replay));
    BOOST_TEST(s.attempts() == 0u);
    // A second dead connection in a row is an ordinary retry (here: refused by the empty budget).
    d = decide(s, stale, t0, budget, rng);
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
        retry_state s(rp, call_semantics{get}, never);
        BOOST_TEST((decide(s, response(502), t0, budget, rng).next == next_step::retry));
        BOOST_TEST((decide(s, response(502), t0, budget, rng).next == next_step::retry));
        auto d = decide(s, response(502), t0, budget, rng);
        BOOST_TEST((d.reason == stop_reason::attempts_exhausted));
        BOOST_TEST((d.ec == make_http_error(502)));  // the last failure
    }
    {
        retry_state s(fast(), call_semantics{get}, never);
        auto d = decide(s, response(404), t0, budget, rng);
        BOOST_TEST((d.reason == stop_reason::permanent_error));
        BOOST_TEST((d.ec == make_http_error(404)));
        auto v = failure(boost::asio::error::connection_refused, false);
        v.verify_failed = true;
        retry_state t(fast(), call_semantics{get}, never);
        BOOST_TEST((decide(t, v, t0, budget, rng).reason == stop_reason::permanent_error));
    }
    {
        retry_budget small(0, 1, 10s);
        retry_state s(fast(), call_semantics{get}, never);
        BOOST_TEST((decide(s, response(500), t0, small, rng).next == next_step::retry));
        auto d = decide(s, response(500), t0, small, rng);
        BOOST_TEST((d.reason == stop_reason::budget_exhausted));
        BOOST_TEST((d.ec == client_errc::retry_budget_exhausted));
        BOOST_TEST(d.message.find("HTTP 500") != std::string::npos, d.message);
    }
    {
        // A retry stopped by the deadline does not spend the budget.
        retry_budget one(0, 1, 10s);
        retry_params rp;
        rp.backoff_base = rp.backoff_cap = 10s;
        retry_state s(rp, call_semantics{get}, t0 + 1ms);
        std::mt19937 r2(5);
        auto d = decide(s, response(503, 5s), t0, one, r2);
        BOOST_TEST((d.reason == stop_reason::deadline));
        BOOST_TEST(one.try_retry(t0));
    }
    {
        retry_state s(fast(), call_semantics{get}, never);
        auto d = decide(s, failure(client_errc::deadline_exceeded, false, false), t0, budget, rng);
        BOOST_TEST((d.reason == stop_reason::deadline));
        BOOST_TEST((d.ec == client_errc::deadline_exceeded));
        d = retry_state(fast(), call_semantics{get}, never).on_cancelled({});
        BOOST_TEST((d.reason == stop_reason::cancelled));
        BOOST_TEST((d.ec == boost::asio::error::operation_aborted));
        d = retry_state(fast(), call_semantics{get}, never).on_gate_after_deadline(true);
        BOOST_TEST((d.reason == stop_reason::deadline));
        BOOST_TEST((d.ec == client_errc::rate_limited));
    }
}

BOOST_AUTO_TEST_CASE(outcome_unknown_whenever_a_post_may_have_been_applied)
{
    std::mt19937 rng(1);
    retry_budget budget(0.2, 10, 10s);
    auto ends = [&](std::vector<attempt> attempts, bool idempotent = post, bool opt_in = false) {
        retry_params rp = fast();
        rp.retry_unknown_outcome = opt_in;
        retry_state s(rp, call_semantics{idempotent}, never);
        decision d;
        for (auto& o : attempts) d = decide(s, o, t0, budget, rng);
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
    BOOST_TEST(
        !ends({failure(boost::asio::error::connection_refused, false, false), failure(operation_aborted, false, false)})
             .second);
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

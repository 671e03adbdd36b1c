// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE client_retry
#include <boost/test/unit_test.hpp>

#include "fixture.hpp"

#include "client/client_impl.hpp"
#include "pipeline/rate_gate.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <set>

using namespace smooch;
using namespace smooch::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

asio::awaitable<std::vector<outcome<message_response>>> post_many(client& c, std::string app, std::string user, int n)
{
    auto ex = co_await asio::this_coro::executor;
    std::vector<outcome<message_response>> results(static_cast<std::size_t>(n));
    int remaining = n;
    asio::steady_timer done(ex, asio::steady_timer::time_point::max());
    for (int i = 0; i < n; ++i) {
        asio::co_spawn(
            ex,
            [&, i]() -> asio::awaitable<void> {
                results[static_cast<std::size_t>(i)] =
                    co_await try_post_message(conversation_api{c}, app, user, text_message("p" + std::to_string(i)));
                if (--remaining == 0) done.cancel();
            },
            asio::detached);
    }
    co_await done.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return results;
}

retry_params fast_retries()
{
    retry_params r;
    r.backoff_base = 1ms;
    r.backoff_cap = 5ms;
    return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_429_pauses_the_whole_app_and_every_post_lands_once)
{
    mock_env env;
    env.mock_params.faults.push_back(mock::parse_fault("status=429,retry_after=1,count=1,route=post_message"));
    const std::size_t connections = 4;
    auto c = env.make_client([&](client_params& p) { p.pool.max_connections = connections; });
    std::vector<outcome<message_response>> results;
    env.run([&]() -> asio::awaitable<void> { results = co_await post_many(*c, "app_1", "herd", 200); });
    for (auto& r : results) BOOST_TEST(!r.ec, r.ec.message());
    auto rec = env.server->record();
    BOOST_TEST(rec.find("app_1", "herd")->created_ids.size() == 200u);
    std::set<std::string> texts;
    for (auto& t : rec.find("app_1", "herd")->texts()) texts.insert(t);
    BOOST_TEST(texts.size() == 200u);

    // The 429 arrived at time A. Only requests already in flight then (at most one per other connection)
    // may reach the server before A + 1 s; everything else waited at the app's gate.
    auto it = std::find_if(rec.requests.begin(), rec.requests.end(), [](auto& r) { return r.status == 429; });
    BOOST_REQUIRE(it != rec.requests.end());
    const auto a = it->arrival;
    std::size_t in_window = 0;
    for (auto& r : rec.requests)
        if (r.app_id == "app_1" && r.arrival > a && r.arrival < a + 1s) ++in_window;
    BOOST_TEST(in_window <= connections - 1);
    auto k = c->counters();
    BOOST_TEST(k.responses_429 == 1u);
    BOOST_TEST(k.retries_throttled == 1u);
    BOOST_TEST(k.gate_waits >= 190u);
    // The herd is spread after reopening, not released in one instant.
    std::vector<std::chrono::steady_clock::time_point> after;
    for (auto& r : rec.requests)
        if (r.arrival >= a + 1s) after.push_back(r.arrival);
    BOOST_REQUIRE(after.size() > 10u);
    BOOST_TEST((after.back() - after.front() > 20ms));
}

BOOST_AUTO_TEST_CASE(bursts_of_503_with_and_without_retry_after)
{
    mock_env env;
    auto c = env.make_client([](client_params& p) { p.retry = fast_retries(); });
    env.start();
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        co_await api.post_message("app_1", "b", text_message("seed"));
        // GET: plain 503s are retried.
        env.server->add_fault(mock::parse_fault("status=503,count=3,route=get_messages"));
        auto g = co_await try_get_messages(api, "app_1", "b");
        BOOST_TEST(!g.ec);
        BOOST_TEST(g.diag.attempts.size() == 4u);
        // POST: 503 with Retry-After means "not processed": retried, lands once.
        env.server->add_fault(mock::parse_fault("status=503,retry_after=0,count=2,route=post_message"));
        auto p = co_await try_post_message(api, "app_1", "b", text_message("after 503+RA"));
        BOOST_TEST(!p.ec);
        BOOST_TEST(p.diag.attempts.size() == 3u);
        // POST: a plain 503 might have been applied: not retried, outcome unknown.
        env.server->add_fault(mock::parse_fault("status=503,count=1,route=post_message"));
        auto u = co_await try_post_message(api, "app_1", "b", text_message("plain 503"));
        BOOST_TEST((u.ec == client_errc::outcome_unknown));
        BOOST_TEST(u.diag.outcome_unknown);
        BOOST_TEST((u.diag.stop_reason == stop_reason::not_idempotent));
        BOOST_TEST(u.diag.status == 503u);
        // ...unless the caller opts in.
        env.server->add_fault(mock::parse_fault("status=503,count=1,route=post_message"));
        call_options opt_in;
        opt_in.retry = fast_retries();
        opt_in.retry->retry_unknown_outcome = true;
        auto o = co_await try_post_message(api, "app_1", "b", text_message("opted in"), opt_in);
        BOOST_TEST(!o.ec);
    });
    auto texts = env.server->record().find("app_1", "b")->texts();
    BOOST_TEST(std::count(texts.begin(), texts.end(), "after 503+RA") == 1);
    BOOST_TEST(std::count(texts.begin(), texts.end(), "plain 503") == 0);
}

BOOST_AUTO_TEST_CASE(reset_after_send_is_outcome_unknown_for_posts_and_retried_for_reads)
{
    mock_env env;
    auto c = env.make_client([](client_params& p) { p.retry = fast_retries(); });
    env.start();
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        // The server stores the message, then resets: the client cannot know, so it must not resend.
        env.server->add_fault(mock::parse_fault("reset,apply,count=1,route=post_message"));
        auto a = co_await try_post_message(api, "app_1", "r", text_message("applied"));
        BOOST_TEST((a.ec == client_errc::outcome_unknown));
        BOOST_TEST(a.diag.outcome_unknown);
        BOOST_TEST(a.diag.attempts.size() == 1u);
        // The server resets without storing.
        env.server->add_fault(mock::parse_fault("reset,count=1,route=post_message"));
        auto b = co_await try_post_message(api, "app_1", "r", text_message("not applied"));
        BOOST_TEST((b.ec == client_errc::outcome_unknown));
        // Reads are retried through the same fault.
        env.server->add_fault(mock::parse_fault("reset,count=2,route=get_messages"));
        auto g = co_await try_get_messages(api, "app_1", "r");
        BOOST_TEST(!g.ec);
        BOOST_TEST(g.diag.attempts.size() == 3u);
    });
    auto texts = env.server->record().find("app_1", "r")->texts();
    BOOST_TEST(std::count(texts.begin(), texts.end(), "applied") == 1);      // once, never twice
    BOOST_TEST(std::count(texts.begin(), texts.end(), "not applied") == 0);  // zero, and not resent
}

BOOST_AUTO_TEST_CASE(retry_budget_stops_hammering_a_failing_server)
{
    mock_env env;
    env.mock_params.faults.push_back(mock::parse_fault("status=500,route=get_messages"));  // every time
    auto c = env.make_client([](client_params& p) {
        p.retry = fast_retries();
        p.retry.max_attempts = 1000;
        p.retry.budget_floor = 5;
        p.retry.budget_ratio = 0.0;
    });
    env.run([&]() -> asio::awaitable<void> {
        auto o = co_await try_get_messages(conversation_api{*c}, "app_1", "x");
        BOOST_TEST((o.ec == client_errc::retry_budget_exhausted));
        BOOST_TEST((o.diag.stop_reason == stop_reason::budget_exhausted));
        BOOST_TEST(o.diag.attempts.size() == 6u);  // the first try plus the floor of 5 retries
        // The budget is shared: the next call gets no retry at all.
        auto o2 = co_await try_get_messages(conversation_api{*c}, "app_1", "x");
        BOOST_TEST(o2.diag.attempts.size() == 1u);
    });
    BOOST_TEST(env.server->record().routed.at("get_messages") == 7u);
}

BOOST_AUTO_TEST_CASE(attempts_are_capped_and_recorded)
{
    mock_env env;
    env.mock_params.faults.push_back(mock::parse_fault("status=502,route=get_messages"));
    auto c = env.make_client([](client_params& p) {
        p.retry = fast_retries();
        p.retry.max_attempts = 3;
    });
    env.run([&]() -> asio::awaitable<void> {
        auto o = co_await try_get_messages(conversation_api{*c}, "app_1", "x");
        BOOST_TEST((o.ec == make_http_error(502)));
        BOOST_TEST((o.diag.stop_reason == stop_reason::attempts_exhausted));
        BOOST_REQUIRE(o.diag.attempts.size() == 3u);
        for (auto& a : o.diag.attempts) BOOST_TEST(a.status == 502u);
        BOOST_TEST(o.diag.attempts.back().delay_after.count() == 0);
    });
}

BOOST_AUTO_TEST_CASE(deadline_is_not_overrun_by_backoff_or_retry_after)
{
    mock_env env;
    env.mock_params.faults.push_back(mock::parse_fault("status=500,route=get_messages"));
    env.mock_params.faults.push_back(mock::parse_fault("status=429,retry_after=30,route=post_message"));
    auto c = env.make_client([](client_params& p) {
        p.retry.backoff_base = 2s;
        p.retry.backoff_cap = 2s;
        p.retry.max_attempts = 100;
        p.retry.budget_floor = 1000;
        p.retry.max_retry_after = 1s;  // the wait is capped; diagnostics still carry the server's 30 s
    });
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        call_options opts;
        opts.total_timeout = 300ms;
        const get_messages_query latest;
        // Backoffs of up to 2 s mostly do not fit into 300 ms: the call fails as soon as one does not (or
        // when an attempt reaches the deadline), with deadline_exceeded, never later than the deadline.
        auto start = std::chrono::steady_clock::now();
        auto g = co_await try_get_messages(api, "app_1", "x", latest, opts);
        auto took = std::chrono::steady_clock::now() - start;
        BOOST_TEST((g.ec == client_errc::deadline_exceeded), describe(g.ec, g.diag));
        BOOST_TEST((g.diag.stop_reason == stop_reason::deadline));
        BOOST_REQUIRE(!g.diag.attempts.empty());
        BOOST_TEST(g.diag.attempts.front().status == 500u);  // the failures that led here are kept
        BOOST_TEST((took < 300ms + 200ms));
        // Retry-After of 30 s (capped to 1 s) cannot fit in 300 ms: fail at once with rate_limited carrying
        // the server's own value.
        start = std::chrono::steady_clock::now();
        auto p = co_await try_post_message(api, "app_1", "x", text_message("x"), opts);
        took = std::chrono::steady_clock::now() - start;
        BOOST_TEST((p.ec == client_errc::rate_limited));
        BOOST_TEST((p.diag.retry_after.value() == 30s));
        BOOST_TEST((took < 300ms));
    });
}

BOOST_AUTO_TEST_CASE(deadline_expires_during_backoffs_the_call_ends_at_the_deadline)
{
    // Short backoffs keep fitting, so the call keeps retrying until the deadline is at most one backoff
    // (50 ms) away: it ends in [deadline - backoff_cap, deadline + tolerance].
    mock_env env;
    env.mock_params.faults.push_back(mock::parse_fault("status=500,route=get_messages"));
    auto c = env.make_client([](client_params& p) {
        p.retry.backoff_base = 50ms;
        p.retry.backoff_cap = 50ms;
        p.retry.max_attempts = 1000;
        p.retry.budget_floor = 1000;
    });
    env.run([&]() -> asio::awaitable<void> {
        call_options opts;
        opts.total_timeout = 400ms;
        const get_messages_query latest;
        auto start = std::chrono::steady_clock::now();
        auto g = co_await try_get_messages(conversation_api{*c}, "app_1", "x", latest, opts);
        auto took = std::chrono::steady_clock::now() - start;
        BOOST_TEST((g.ec == client_errc::deadline_exceeded), describe(g.ec, g.diag));
        BOOST_TEST((g.diag.stop_reason == stop_reason::deadline));
        BOOST_TEST(g.diag.attempts.size() > 2u);
        BOOST_TEST((took >= 400ms - 50ms), std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
        BOOST_TEST((took < 400ms + 200ms), std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
    });
}

BOOST_AUTO_TEST_CASE(cancellation_during_backoff_and_at_the_gate)
{
    mock_env env;
    env.mock_params.faults.push_back(mock::parse_fault("status=500,route=get_messages"));
    env.mock_params.faults.push_back(mock::parse_fault("status=429,retry_after=10,count=1,route=post_message"));
    auto c = env.make_client([](client_params& p) {
        p.retry.backoff_base = 5s;
        p.retry.backoff_cap = 5s;
        p.retry.budget_floor = 100;
        p.retry.max_attempts = 100;  // only the cancellation can end these calls
    });
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        auto ex = co_await asio::this_coro::executor;
        // During a backoff (each retry waits up to 5 s), cancelled through a slot so the result is visible.
        for (int i = 0; i < 3; ++i) {
            asio::cancellation_signal cancel;
            asio::steady_timer t(ex, 200ms);
            t.async_wait([&](boost::system::error_code ec) {
                if (!ec) cancel.emit(asio::cancellation_type::terminal);
            });
            auto start = std::chrono::steady_clock::now();
            auto r = co_await asio::co_spawn(ex, try_get_messages(api, "app_1", "c"),
                                             asio::bind_cancellation_slot(cancel.slot(), asio::use_awaitable));
            auto took = std::chrono::steady_clock::now() - start;
            BOOST_TEST((r.ec == asio::error::operation_aborted), describe(r.ec, r.diag));
            BOOST_TEST((r.diag.stop_reason == stop_reason::cancelled));
            BOOST_REQUIRE(!r.diag.attempts.empty());
            for (auto& a : r.diag.attempts) BOOST_TEST(a.status == 500u);
            BOOST_TEST(!r.diag.outcome_unknown);
            BOOST_TEST((took >= 200ms));
            BOOST_TEST((took < 1s));
        }
        // The same through an awaitable operator: the timer wins, the call is abandoned promptly.
        {
            asio::steady_timer t(ex, 200ms);
            auto start = std::chrono::steady_clock::now();
            auto r = co_await (try_get_messages(api, "app_1", "c") || t.async_wait(asio::use_awaitable));
            BOOST_TEST(r.index() == 1u);
            BOOST_TEST((std::chrono::steady_clock::now() - start < 1s));
        }
        // At the gate: the first post closes the app's gate for 10 s; a second post waits there.
        call_options short_deadline;
        short_deadline.total_timeout = 100ms;
        auto first = co_await try_post_message(api, "app_1", "c", text_message("gate"), short_deadline);
        BOOST_TEST((first.ec == client_errc::rate_limited));
        asio::cancellation_signal cancel;
        asio::steady_timer t(ex, 200ms);
        t.async_wait([&](boost::system::error_code ec) {
            if (!ec) cancel.emit(asio::cancellation_type::terminal);
        });
        auto start = std::chrono::steady_clock::now();
        auto r = co_await asio::co_spawn(ex, try_post_message(api, "app_1", "c", text_message("waits")),
                                         asio::bind_cancellation_slot(cancel.slot(), asio::use_awaitable));
        BOOST_TEST((r.ec == asio::error::operation_aborted), describe(r.ec, r.diag));
        BOOST_TEST((r.diag.stop_reason == stop_reason::cancelled));
        BOOST_TEST(r.diag.attempts.empty());  // it never left the gate
        BOOST_TEST(!r.diag.outcome_unknown);
        BOOST_TEST((std::chrono::steady_clock::now() - start < 1s));
    });
    auto k = c->counters();
    BOOST_TEST(k.gate_waits >= 1u);
    // Every call is counted as succeeded or failed, the abandoned and cancelled ones included.
    BOOST_TEST(k.requests == 6u);
    BOOST_TEST(k.succeeded == 0u);
    BOOST_TEST(k.failed == 6u);
    BOOST_TEST(!env.server->record().find("app_1", "c"));  // nothing was stored
}

BOOST_AUTO_TEST_CASE(a_post_cut_off_after_sending_reports_outcome_unknown)
{
    mock_env env;
    auto c = env.make_client([](client_params& p) { p.retry = fast_retries(); });
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        auto ex = co_await asio::this_coro::executor;
        call_options opts;
        opts.total_timeout = 300ms;
        // The deadline passes while the server, which stored the message, stalls after the headers.
        env.server->add_fault(mock::parse_fault("stall,apply,count=1,route=post_message"));
        auto a = co_await try_post_message(api, "app_1", "cut", text_message("stalled, applied"), opts);
        BOOST_TEST((a.ec == client_errc::deadline_exceeded), describe(a.ec, a.diag));
        BOOST_TEST((a.diag.stop_reason == stop_reason::deadline));
        BOOST_TEST(a.diag.outcome_unknown);
        BOOST_TEST(a.diag.attempts.size() == 1u);  // never resent
        // The same when it stalls without storing: the client cannot tell the difference.
        env.server->add_fault(mock::parse_fault("stall,count=1,route=post_message"));
        auto b = co_await try_post_message(api, "app_1", "cut", text_message("stalled, not applied"), opts);
        BOOST_TEST((b.ec == client_errc::deadline_exceeded));
        BOOST_TEST(b.diag.outcome_unknown);

        // Cancelled while the server holds its (stored) answer back.
        env.server->add_fault(mock::parse_fault("delay=5000,count=1,route=post_message"));
        asio::cancellation_signal cancel;
        asio::steady_timer t(ex, 200ms);
        t.async_wait([&](boost::system::error_code ec) {
            if (!ec) cancel.emit(asio::cancellation_type::terminal);
        });
        auto d = co_await asio::co_spawn(ex, try_post_message(api, "app_1", "cut", text_message("delayed, cancelled")),
                                         asio::bind_cancellation_slot(cancel.slot(), asio::use_awaitable));
        BOOST_TEST((d.ec == asio::error::operation_aborted), describe(d.ec, d.diag));
        BOOST_TEST((d.diag.stop_reason == stop_reason::cancelled));
        BOOST_TEST(d.diag.outcome_unknown);
        BOOST_TEST(d.diag.attempts.size() == 1u);

        // A response too large to read: the server answered, so it may well have stored the message.
        auto small = env.make_client([](client_params& p) { p.max_response_body = 64; });
        auto e = co_await try_post_message(conversation_api{*small}, "app_1", "cut", text_message("too large"));
        BOOST_TEST((e.ec == client_errc::response_too_large), describe(e.ec, e.diag));
        BOOST_TEST(e.diag.outcome_unknown);
        BOOST_TEST(e.diag.attempts.size() == 1u);
        BOOST_TEST(small->counters().failed == 1u);
    });
    auto k = c->counters();
    BOOST_TEST(k.requests == 3u);
    BOOST_TEST(k.failed == 3u);
    auto texts = env.server->record().find("app_1", "cut")->texts();
    auto count = [&](const char* t) { return std::count(texts.begin(), texts.end(), t); };
    BOOST_TEST(count("stalled, applied") == 1);  // once, never twice
    BOOST_TEST(count("stalled, not applied") == 0);
    BOOST_TEST(count("delayed, cancelled") == 1);
    BOOST_TEST(count("too large") == 1);
}

BOOST_AUTO_TEST_CASE(a_burst_of_429s_without_retry_after_backs_off_exponentially_and_delivers_once)
{
    // Real Smooch sends 429 without Retry-After. The server throttles every post for a while; the app's
    // gate must close for longer and longer pauses (not one short full-jitter draw), let only a few requests
    // through when it reopens, and deliver every post exactly once when the throttling ends.
    mock_env env;
    const std::size_t connections = 8;
    const auto base = 10ms, cap = 200ms;
    auto c = env.make_client([&](client_params& p) {
        p.pool.max_connections = connections;
        p.retry.backoff_base = base;
        p.retry.backoff_cap = cap;
        p.retry.max_attempts = 50;
        p.retry.budget_floor = 10000;
    });
    std::vector<outcome<message_response>> results;
    std::chrono::steady_clock::duration throttled_for{};
    env.run([&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        env.server->add_fault(mock::parse_fault("status=429,route=post_message"));
        const auto start = std::chrono::steady_clock::now();
        asio::steady_timer end_of_throttling(ex, 300ms);  // the scenario: 300 ms of throttling
        end_of_throttling.async_wait([&](boost::system::error_code ec) {
            if (ec) return;
            env.server->clear_faults();
            throttled_for = std::chrono::steady_clock::now() - start;
        });
        results = co_await post_many(*c, "app_1", "burst", 100);
    });
    for (auto& r : results) BOOST_TEST(!r.ec, describe(r.ec, r.diag));
    auto rec = env.server->record();
    BOOST_TEST(rec.find("app_1", "burst")->created_ids.size() == 100u);
    std::set<std::string> texts;
    for (auto& t : rec.find("app_1", "burst")->texts()) texts.insert(t);
    BOOST_TEST(texts.size() == 100u);
    // Each counted 429 closes the gate for at least half of min(cap, base·2^(n-1)); while it is closed only
    // requests already past the gate can still be answered 429 (at most one per connection). So the number
    // of 429s is bounded by connections × the number of pauses that fit into the throttled time.
    unsigned pauses = 0;
    std::chrono::steady_clock::duration covered{};
    while (covered < throttled_for) {
        ++pauses;
        covered += std::min<std::chrono::steady_clock::duration>(cap, base * (1 << std::min(pauses - 1, 20u))) / 2;
    }
    const auto k = c->counters();
    BOOST_TEST_MESSAGE(k.responses_429 << " 429s, bound " << connections * pauses << " (" << pauses << " pauses in "
                                       << std::chrono::duration_cast<std::chrono::milliseconds>(throttled_for).count()
                                       << " ms)");
    BOOST_TEST(k.responses_429 >= 1u);
    BOOST_TEST(k.responses_429 <= connections * pauses, k.responses_429 << " 429s in " << pauses << " pauses");
    BOOST_TEST(k.responses_429 == k.retries_throttled);  // every 429 was waited out, none ended a call
}

BOOST_AUTO_TEST_CASE(client_side_limit_matching_the_server_never_sees_a_429)
{
    // The server allows 20 requests/s with a burst of 6 per app; the client is configured with the same rate
    // and a burst two below: a margin for requests that take a little less time to arrive than the one
    // before them (a process stalled for less than ~300 ms still cannot burst past the server's bucket).
    mock_env env;
    env.mock_params.rate = mock::rate_limit{.requests_per_second = 20, .burst = 6};
    auto c = env.make_client([](client_params& p) {
        p.rate_limit.requests_per_second = 20;
        p.rate_limit.burst = 4;
    });
    std::vector<outcome<message_response>> results;
    const auto start = std::chrono::steady_clock::now();
    env.run([&]() -> asio::awaitable<void> { results = co_await post_many(*c, "app_1", "fan", 40); });
    const auto took = std::chrono::steady_clock::now() - start;
    for (auto& r : results) BOOST_TEST(!r.ec, describe(r.ec, r.diag));
    auto rec = env.server->record();
    BOOST_TEST(rec.rate_limited == 0u);
    BOOST_TEST(c->counters().responses_429 == 0u);
    BOOST_TEST(rec.find("app_1", "fan")->created_ids.size() == 40u);
    BOOST_TEST((took >= 1700ms));  // (40 - 4) / 20 s: the client spaced them itself
}

BOOST_AUTO_TEST_CASE(the_gate_table_does_not_grow_with_every_app_id)
{
    mock_env env;
    env.mock_params.faults.push_back(mock::parse_fault("status=429,retry_after=60,count=1,app=hot"));
    auto c = env.make_client();
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        call_options short_deadline;
        short_deadline.total_timeout = 100ms;
        auto hot = co_await try_get_messages(api, "hot", "u", {}, short_deadline);
        BOOST_TEST((hot.ec == client_errc::rate_limited));
        for (int i = 0; i < 600; ++i) {
            auto o = co_await try_get_messages(api, "app_" + std::to_string(i), "u");
            BOOST_TEST_REQUIRE((o.ec == make_http_error(404)));  // no conversation: one answer each
        }
    });
    const auto& calls = *smooch::detail::access::impl(*c)->calls;
    BOOST_TEST(calls.gate_count() <= smooch::detail::gate_sweep_threshold + smooch::detail::gate_sweep_every);
    BOOST_TEST(calls.has_gate("hot"));  // a closed gate is never dropped
}

// Every way a server can fail an exchange mid-way, over TLS and over plain HTTP: each attempt's error names
// what happened, a read is retried to success, and every broken connection is retired.
BOOST_AUTO_TEST_CASE(transport_faults_are_named_and_reads_recover)
{
    struct expectation {
        const char* fault;
        error_code first_error;
    };
    const expectation cases[] = {
        {"stall,count=1,route=get_messages", client_errc::attempt_timeout},
        {"delay=5000,count=1,route=get_messages", client_errc::attempt_timeout},
        {"truncate,count=1,route=get_messages", client_errc::connection_closed},
        {"reset,count=1,route=get_messages", asio::error::connection_reset},
    };
    for (const bool tls : {true, false}) {
        mock_env env;
        if (!tls) env.mock_params.tls.reset();
        auto c = env.make_client([](client_params& p) {
            p.retry = fast_retries();
            p.timeouts.attempt = 150ms;
        });
        BOOST_TEST_REQUIRE(c->params().base_url.starts_with(tls ? "https://" : "http://"));
        env.run([&]() -> asio::awaitable<void> {
            conversation_api api{*c};
            co_await api.post_message("app_1", "f", text_message("hello"));
            for (const auto& e : cases) {
                BOOST_TEST_CONTEXT((tls ? "https, " : "http, ") << e.fault)
                {
                    env.server->add_fault(mock::parse_fault(e.fault));
                    auto r = co_await try_get_messages(api, "app_1", "f");
                    BOOST_TEST(!r.ec.failed(), describe(r.ec, r.diag));
                    BOOST_TEST_REQUIRE(r.diag.attempts.size() == 2u);
                    BOOST_TEST((r.diag.attempts[0].ec == e.first_error), r.diag.attempts[0].ec.message());
                    BOOST_TEST(!r.diag.attempts[1].ec.failed());
                    BOOST_TEST_REQUIRE(r.value.has_value());
                    BOOST_TEST_REQUIRE(r.value->messages.has_value());
                    BOOST_TEST(r.value->messages->size() == 1u);
                }
            }
            // A body that is not JSON is the server's answer, not a transport failure: reported, not retried.
            env.server->add_fault(mock::parse_fault("malformed,count=1,route=get_messages"));
            auto m = co_await try_get_messages(api, "app_1", "f");
            BOOST_TEST((m.ec == client_errc::unreadable_response), describe(m.ec, m.diag));
            BOOST_TEST(m.diag.message.find("invalid JSON") != std::string::npos, m.diag.message);
            BOOST_TEST(m.diag.attempts.size() == 1u);
            // A server that closes after a complete response: the answer counts, the next call reconnects.
            env.server->add_fault(mock::parse_fault("close,count=1,route=get_messages"));
            for (int i = 0; i < 2; ++i) {
                auto k = co_await try_get_messages(api, "app_1", "f");
                BOOST_TEST(!k.ec.failed(), describe(k.ec, k.diag));
                BOOST_TEST(k.diag.attempts.size() == 1u);
            }
        });
        BOOST_TEST(c->counters().connections_discarded >= 5u);  // every broken connection was retired
        BOOST_TEST(c->counters().failed == 1u);                 // only the malformed body
    }
}

// A server whose accept queue is full drops our SYN: the connect deadline ends each attempt with
// connect_timeout (nothing was sent, so even a post is retried), and the call ends when attempts run out.
BOOST_AUTO_TEST_CASE(connect_timeout_is_named_and_bounded)
{
    asio::io_context io;
    asio::ip::tcp::acceptor full(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    full.listen(0);  // Linux: one connection fills the queue; later SYNs are dropped, never refused
    asio::ip::tcp::socket filler(io);
    filler.connect(full.local_endpoint());  // completes in the kernel; never accepted
    client_params p;
    p.base_url = "http://127.0.0.1:" + std::to_string(full.local_endpoint().port());
    p.credentials = basic_auth{"k", "s"};
    p.timeouts.connect = 100ms;
    p.retry = fast_retries();
    p.retry.max_attempts = 2;
    client c(io.get_executor(), p);
    std::optional<outcome<message_response>> r;
    asio::co_spawn(io, try_post_message(conversation_api{c}, "app_1", "u", text_message("never sent")),
                   [&](std::exception_ptr e, outcome<message_response> o) {
                       BOOST_REQUIRE(!e);
                       r = std::move(o);
                   });
    const auto start = std::chrono::steady_clock::now();
    io.run_for(10s);  // bounded; the call itself should take about 2 × 100 ms
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->ec.failed());
    BOOST_TEST_REQUIRE(r->diag.attempts.size() == 2u, describe(r->ec, r->diag));
    for (const auto& a : r->diag.attempts) BOOST_TEST((a.ec == client_errc::connect_timeout), a.ec.message());
    BOOST_TEST(!r->diag.outcome_unknown);  // no byte was ever written
    BOOST_TEST((std::chrono::steady_clock::now() - start < 5s));
    BOOST_TEST(c.counters().connections_opened == 0u);
    BOOST_TEST(c.open_connections() == 0u);
}

#define BOOST_TEST_MODULE client_retry
#include <boost/test/unit_test.hpp>

#include "fixture.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

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
                    co_await conversation_api{c}.try_post_message(app, user, text_message("p" + std::to_string(i)));
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

} // namespace

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
        auto g = co_await api.try_get_messages("app_1", "b");
        BOOST_TEST(!g.ec);
        BOOST_TEST(g.diag.attempts.size() == 4u);
        // POST: 503 with Retry-After means "not processed": retried, lands once.
        env.server->add_fault(mock::parse_fault("status=503,retry_after=0,count=2,route=post_message"));
        auto p = co_await api.try_post_message("app_1", "b", text_message("after 503+RA"));
        BOOST_TEST(!p.ec);
        BOOST_TEST(p.diag.attempts.size() == 3u);
        // POST: a plain 503 might have been applied: not retried, outcome unknown.
        env.server->add_fault(mock::parse_fault("status=503,count=1,route=post_message"));
        auto u = co_await api.try_post_message("app_1", "b", text_message("plain 503"));
        BOOST_TEST((u.ec == client_errc::outcome_unknown));
        BOOST_TEST(u.diag.outcome_unknown);
        BOOST_TEST((u.diag.stop_reason == stop_reason::not_idempotent));
        BOOST_TEST(u.diag.status == 503u);
        // ...unless the caller opts in.
        env.server->add_fault(mock::parse_fault("status=503,count=1,route=post_message"));
        call_options opt_in;
        opt_in.retry = fast_retries();
        opt_in.retry->retry_unknown_outcome = true;
        auto o = co_await api.try_post_message("app_1", "b", text_message("opted in"), opt_in);
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
        auto a = co_await api.try_post_message("app_1", "r", text_message("applied"));
        BOOST_TEST((a.ec == client_errc::outcome_unknown));
        BOOST_TEST(a.diag.outcome_unknown);
        BOOST_TEST(a.diag.attempts.size() == 1u);
        // The server resets without storing.
        env.server->add_fault(mock::parse_fault("reset,count=1,route=post_message"));
        auto b = co_await api.try_post_message("app_1", "r", text_message("not applied"));
        BOOST_TEST((b.ec == client_errc::outcome_unknown));
        // Reads are retried through the same fault.
        env.server->add_fault(mock::parse_fault("reset,count=2,route=get_messages"));
        auto g = co_await api.try_get_messages("app_1", "r");
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
        auto o = co_await conversation_api{*c}.try_get_messages("app_1", "x");
        BOOST_TEST((o.ec == client_errc::retry_budget_exhausted));
        BOOST_TEST((o.diag.stop_reason == stop_reason::budget_exhausted));
        BOOST_TEST(o.diag.attempts.size() == 6u);  // the first try plus the floor of 5 retries
        // The budget is shared: the next call gets no retry at all.
        auto o2 = co_await conversation_api{*c}.try_get_messages("app_1", "x");
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
        auto o = co_await conversation_api{*c}.try_get_messages("app_1", "x");
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
    });
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        call_options opts;
        opts.total_timeout = 300ms;
        // Backoff would pass the deadline: the call ends by the deadline (tolerance 200 ms).
        auto start = std::chrono::steady_clock::now();
        const get_messages_query latest;
        auto g = co_await api.try_get_messages("app_1", "x", latest, opts);
        auto took = std::chrono::steady_clock::now() - start;
        BOOST_TEST(g.ec.failed());
        BOOST_TEST((g.diag.stop_reason == stop_reason::deadline));
        BOOST_TEST((took < 300ms + 200ms));
        // Retry-After of 30 s cannot fit in 300 ms: fail at once with rate_limited carrying the server's value.
        start = std::chrono::steady_clock::now();
        auto p = co_await api.try_post_message("app_1", "x", text_message("x"), opts);
        took = std::chrono::steady_clock::now() - start;
        BOOST_TEST((p.ec == client_errc::rate_limited));
        BOOST_TEST((p.diag.retry_after.value() == 30s));
        BOOST_TEST((took < 300ms));
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
    });
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        auto ex = co_await asio::this_coro::executor;
        // During a backoff (the first retry waits up to 5 s).
        for (int i = 0; i < 3; ++i) {
            asio::steady_timer t(ex, 200ms);
            auto start = std::chrono::steady_clock::now();
            auto r = co_await (api.try_get_messages("app_1", "c") || t.async_wait(asio::use_awaitable));
            auto took = std::chrono::steady_clock::now() - start;
            BOOST_TEST((took < 1s));
            (void)r;
        }
        // At the gate: the first post closes the app's gate for 10 s; a second post waits there.
        call_options short_deadline;
        short_deadline.total_timeout = 100ms;
        auto first = co_await api.try_post_message("app_1", "c", text_message("gate"), short_deadline);
        BOOST_TEST((first.ec == client_errc::rate_limited));
        asio::steady_timer t(ex, 200ms);
        auto start = std::chrono::steady_clock::now();
        auto r = co_await (api.try_post_message("app_1", "c", text_message("waits")) || t.async_wait(asio::use_awaitable));
        BOOST_TEST(r.index() == 1u);  // cancelled by the timer while waiting at the gate
        BOOST_TEST((std::chrono::steady_clock::now() - start < 1s));
    });
    BOOST_TEST(c->counters().gate_waits >= 1u);
    BOOST_TEST(!env.server->record().find("app_1", "c"));  // nothing was stored
}

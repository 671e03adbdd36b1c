// SPDX-License-Identifier: BSL-1.0
// The per-app rate limit: a token bucket (detail/token_bucket.hpp) fed with the requests' arrival times, so
// every 429 and Retry-After here is exact.

#include "engine_test.hpp"

#include <string>
#include <vector>

using namespace mock_engine_test;

namespace {

/// "404" (past the limiter, to a conversation that does not exist) or "429 <Retry-After>", for a GET of app/u
/// arriving at t0 + `at`.
std::string get_at(driver& d, std::chrono::milliseconds at, const std::string& app = "app1")
{
    auto r = d.send("GET", msgs_path(app, "u"), {}, acct_basic, at);
    if (r.status == 429u) {
        check_error(r, 429, "too_many_requests", "Rate limit exceeded for this app");
        return "429 " + r.retry_after;
    }
    return r.retry_after.empty() ? std::to_string(r.status) : std::to_string(r.status) + " with Retry-After";
}

/// A limit of rps/burst, with Retry-After on its 429s unless `retry_after` is false (Smooch's way, the default).
driver limited(double rps, double burst, bool retry_after = true)
{
    auto p = keyed_params();
    p.rate = mock::rate_limit{rps, burst};
    p.rate_limit_retry_after = retry_after;
    return driver(p);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(rate_limit)

// The token bucket's arithmetic, driven through the engine with chosen arrival times (no clock involved).
BOOST_AUTO_TEST_CASE(rate_limit_refill_arithmetic)
{
    mock::server_params p;  // no keys: auth off
    p.rate = mock::rate_limit{5, 2};
    p.rate_limit_retry_after = true;
    mock::engine e(p);
    const auto t0 = std::chrono::steady_clock::now();
    auto at = [&](std::chrono::milliseconds offset) {
        mock::http_request r;
        r.method = "GET";
        r.target = "/v1.1/apps/a/appusers/u/messages";
        r.arrival = t0 + offset;
        mock::http_response out;
        e.handle(r, out);
        return out.status == 429u ? "429 " + out.retry_after : std::to_string(out.status);
    };
    // 404 (no conversation) means the request got past the limiter and took a token.
    BOOST_TEST(at(0ms) == "404");
    BOOST_TEST(at(0ms) == "404");
    BOOST_TEST(at(0ms) == "429 1");
    BOOST_TEST(at(100ms) == "429 1");   // 0.5 token
    BOOST_TEST(at(250ms) == "404");     // 1.25 tokens
    BOOST_TEST(at(250ms) == "429 1");   // 0.25 token
    BOOST_TEST(at(10'000ms) == "404");  // refilled, capped at the burst of 2
    BOOST_TEST(at(10'000ms) == "404");
    BOOST_TEST(at(10'000ms) == "429 1");
    e.set_rate_limit(mock::rate_limit{0.25, 1});  // new limit: buckets start full again
    BOOST_TEST(at(10'000ms) == "404");
    BOOST_TEST(at(10'000ms) == "429 4");  // a whole token at 0.25/s: 4 s
    BOOST_TEST(at(13'000ms) == "429 1");  // 0.75 token: 1 s more
    BOOST_TEST(at(14'000ms) == "404");
}

// Retry-After is max(1, ceil(seconds until a whole token)), the bucket refilling at the given arrivals.
BOOST_AUTO_TEST_CASE(retry_after_rounds_up_the_wait_for_a_token)
{
    auto d = limited(0.3, 1);
    BOOST_TEST(get_at(d, 0ms) == "404");
    BOOST_TEST(get_at(d, 0ms) == "429 4");     // 1 token at 0.3/s: 3.33 s
    BOOST_TEST(get_at(d, 1000ms) == "429 3");  // 0.3 there: 2.33 s
    BOOST_TEST(get_at(d, 2000ms) == "429 2");  // 0.6: 1.33 s
    BOOST_TEST(get_at(d, 3000ms) == "429 1");  // 0.9: 0.33 s, rounded up
    BOOST_TEST(get_at(d, 3400ms) == "404");    // 1.02
    BOOST_TEST(get_at(d, 3400ms) == "429 4");  // 0.02: 3.27 s

    auto fast = limited(10, 5);  // a token every 100 ms: never less than 1 s in Retry-After
    for (int i = 0; i < 5; ++i) BOOST_TEST(get_at(fast, 0ms) == "404");
    BOOST_TEST(get_at(fast, 0ms) == "429 1");
    BOOST_TEST(get_at(fast, 50ms) == "429 1");
    BOOST_TEST(get_at(fast, 150ms) == "404");
    BOOST_TEST(get_at(fast, 150ms) == "429 1");
    BOOST_TEST(d.e.snapshot().rate_limited == 5u);
    BOOST_TEST(fast.e.snapshot().rate_limited == 3u);
}

// A 429 takes no token; an arrival older than the last one adds none; each app has its own bucket.
BOOST_AUTO_TEST_CASE(what_takes_a_token)
{
    auto d = limited(1, 1);
    BOOST_TEST(get_at(d, 0ms) == "404");
    BOOST_TEST(get_at(d, 500ms) == "429 1");
    BOOST_TEST(get_at(d, 750ms) == "429 1");
    BOOST_TEST(get_at(d, 1000ms) == "404");          // had a 429 taken a token, this would be 429 too
    BOOST_TEST(get_at(d, 200ms) == "429 1");         // out of order: no refill for going back in time
    BOOST_TEST(get_at(d, 1000ms, "app2") == "404");  // another app: a full bucket of its own
    BOOST_TEST(get_at(d, 2000ms) == "404");

    // Every authenticated request to the app takes one, whatever the route and even if its body is then
    // rejected; a request rejected by auth, an unknown path and a wrong method take none.
    auto e = limited(0.01, 3);
    check_error(e.send("GET", msgs_path("app1", "u"), {}, "", 0ms), 401, "unauthorized", "Authorization is required");
    check_error(e.send("GET", msgs_path("app1", "u"), {}, app1_basic, 0ms), 404, "conversation_not_found",
                "No conversation exists for this app user");
    check_error(e.send("GET", msgs_path("app2", "u"), {}, app1_basic, 0ms), 403, "forbidden",
                "The key does not belong to this app");
    check_error(e.send("PUT", msgs_path("app1", "u"), {}, acct_basic, 0ms), 405, "method_not_allowed",
                "PUT is not allowed on this path");
    check_error(e.send("GET", "/v1.1/apps/app1/nothing", {}, acct_basic, 0ms), 404, "not_found", "No such route");
    check_error(e.send("POST", msgs_path("app1", "u"), "{}", acct_basic, 0ms), 400, "bad_request", "role is required");
    check_error(e.send("POST", "/v1.1/apps/app1/appusers/u/conversation/read", {}, acct_basic, 0ms), 404,
                "conversation_not_found", "No conversation exists for this app user");
    check_error(e.send("DELETE", msgs_path("app1", "u"), {}, acct_basic, 0ms), 429, "too_many_requests",
                "Rate limit exceeded for this app");
    BOOST_TEST(e.e.snapshot().rate_limited == 1u);
}

BOOST_AUTO_TEST_CASE(changing_the_limit_and_reset_refill_the_buckets)
{
    auto d = limited(0.01, 1);
    BOOST_TEST(get_at(d, 0ms) == "404");
    BOOST_TEST(get_at(d, 0ms) == "429 100");
    d.e.reset();  // forgets the buckets with the rest
    BOOST_TEST(get_at(d, 0ms) == "404");
    BOOST_TEST(get_at(d, 0ms) == "429 100");
    d.e.set_rate_limit(std::nullopt);
    for (int i = 0; i < 5; ++i) BOOST_TEST(get_at(d, 0ms) == "404");
    d.e.set_rate_limit(mock::rate_limit{0.5, 2});
    BOOST_TEST(get_at(d, 0ms) == "404");
    BOOST_TEST(get_at(d, 0ms) == "404");
    BOOST_TEST(get_at(d, 0ms) == "429 2");
    BOOST_TEST(d.e.snapshot().rate_limited == 2u);  // reset() cleared the one before it
}

// By default the limiter's 429 has no Retry-After, as Smooch's (docs/api-facts.md#rate-limits): the same
// refusals, the same bucket, only the header is left out.
BOOST_AUTO_TEST_CASE(no_retry_after_by_default_as_smooch)
{
    BOOST_TEST(!mock::server_params{}.rate_limit_retry_after);
    auto d = limited(0.3, 1, false);
    BOOST_TEST(get_at(d, 0ms) == "404");
    BOOST_TEST(get_at(d, 0ms) == "429 ");  // no Retry-After
    BOOST_TEST(get_at(d, 3000ms) == "429 ");
    BOOST_TEST(get_at(d, 3400ms) == "404");
    BOOST_TEST(d.e.snapshot().rate_limited == 2u);
    // A fault rule's Retry-After is the rule's, whatever the limiter does.
    d.e.add_fault(mock::parse_fault("status=429,retry_after=7,count=1"));
    BOOST_TEST(d.send("GET", msgs_path("app1", "u"), {}, acct_basic, 9000ms).retry_after == "7");
}

BOOST_AUTO_TEST_SUITE_END()

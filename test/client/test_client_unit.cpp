#define BOOST_TEST_MODULE client_unit
#include <boost/test/unit_test.hpp>

#include "client_impl.hpp"

#include <smooch/detail/crypto.hpp>
#include <smooch/detail/pool_state.hpp>
#include <smooch/detail/retry.hpp>

#include <boost/json/parse.hpp>

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

BOOST_AUTO_TEST_CASE(gate_holds_every_request_until_it_reopens_then_spreads_them)
{
    std::mt19937 rng(1);
    rate_gate g;
    BOOST_TEST((g.admit(t0, rng) == t0));
    g.close_until(t0 + 1s);
    std::vector<clock::time_point> admitted;
    for (int i = 0; i < 200; ++i) admitted.push_back(g.admit(t0 + 1ms * i, rng));
    auto [lo, hi] = std::minmax_element(admitted.begin(), admitted.end());
    BOOST_TEST((*lo >= t0 + 1s));              // nobody before the gate reopens
    BOOST_TEST((*hi <= t0 + 1s + 250ms));      // ramp is a quarter of the pause
    BOOST_TEST((*hi - *lo > 100ms));           // and they are spread, not a herd
    // A shorter close does not reopen an already longer-closed gate.
    g.close_until(t0 + 500ms);
    BOOST_TEST((g.closed_until() == t0 + 1s));
}

BOOST_AUTO_TEST_CASE(client_side_limit_is_a_token_bucket)
{
    std::mt19937 rng(1);
    rate_gate g(rate_limit_params{.requests_per_second = 10, .burst = 3});
    std::vector<clock::time_point> t;
    for (int i = 0; i < 6; ++i) t.push_back(g.admit(t0, rng));
    BOOST_TEST((t[0] == t0 && t[1] == t0 && t[2] == t0));  // the burst
    BOOST_TEST((t[3] == t0 + 100ms));
    BOOST_TEST((t[4] == t0 + 200ms));
    BOOST_TEST((t[5] == t0 + 300ms));
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

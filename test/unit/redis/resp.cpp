// SPDX-License-Identifier: BSL-1.0
// RESP2/RESP3 parsing byte by byte and in bounds, the command encoding, redis:// urls, and the lease and
// fallback decisions with time passed in. No sockets.
#define BOOST_TEST_MODULE redis_unit
#include <boost/test/unit_test.hpp>

#include "redis/budget.hpp"
#include "redis/connection.hpp"
#include "redis/resp.hpp"

using namespace smooch;
using namespace smooch::detail;
using smooch::redis::redis_errc;
using namespace std::chrono_literals;
using T = resp::value::type;

namespace {

std::vector<resp::value> parse_all(std::string_view bytes, error_code& ec, std::size_t chunk = 1)
{
    resp::parser p;
    std::vector<resp::value> out;
    for (std::size_t i = 0; i < bytes.size(); i += chunk) {
        if ((ec = p.feed(bytes.substr(i, chunk)))) return out;
        while (auto v = p.next(ec)) out.push_back(std::move(*v));
        if (ec) return out;
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(serializes_commands_as_bulk_arrays)
{
    std::string out;
    resp::serialize({"SET", "k", std::string_view("a\r\nb", 4)}, out);
    BOOST_TEST(out == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n");
}

BOOST_AUTO_TEST_CASE(parses_resp2_and_resp3_split_at_every_byte)
{
    const std::string_view stream = "+OK\r\n-ERR no\r\n:-42\r\n$5\r\nhe\r\nl\r\n$-1\r\n*2\r\n:1\r\n$0\r\n\r\n"
                                    "_\r\n#t\r\n,3.5\r\n%1\r\n+k\r\n:2\r\n~1\r\n+x\r\n=8\r\ntxt:abcd\r\n*-1\r\n";
    for (std::size_t chunk : {1u, 3u, 1000u}) {
        error_code ec;
        auto v = parse_all(stream, ec, chunk);
        BOOST_TEST(!ec);
        BOOST_REQUIRE_EQUAL(v.size(), 13u);
        BOOST_TEST((v[0].kind == T::simple && v[0].str == "OK"));
        BOOST_TEST((v[1].kind == T::error && v[1].str == "ERR no"));
        BOOST_TEST((v[2].kind == T::integer && v[2].integer == -42));
        BOOST_TEST((v[3].kind == T::bulk && v[3].str == "he\r\nl"));
        BOOST_TEST((v[4].kind == T::null));
        BOOST_TEST((v[5].kind == T::array && v[5].elements.size() == 2 && v[5].elements[1].str.empty()));
        BOOST_TEST((v[6].kind == T::null));
        BOOST_TEST((v[7].kind == T::boolean && v[7].integer == 1));
        BOOST_TEST((v[8].kind == T::dbl && v[8].str == "3.5"));
        BOOST_TEST((v[9].kind == T::map && v[9].elements.size() == 2));
        BOOST_TEST((v[10].kind == T::set && v[10].elements.size() == 1));
        BOOST_TEST((v[11].kind == T::verbatim && v[11].str == "abcd"));
        BOOST_TEST((v[12].kind == T::null));
    }
}

BOOST_AUTO_TEST_CASE(rejects_what_is_not_resp)
{
    for (std::string_view bad : {"?x\r\n", ":12a\r\n", "$3\r\nabcd\r\n", "*-2\r\n", "#x\r\n", "$-5\r\n"}) {
        error_code ec;
        parse_all(bad, ec, 1000);
        BOOST_TEST(ec == error_code(redis_errc::protocol_error), bad);
    }
}

BOOST_AUTO_TEST_CASE(bounds_size_depth_and_elements)
{
    resp::limits l;
    l.max_reply_bytes = 64;
    l.max_depth = 2;
    l.max_elements = 3;
    {
        resp::parser p(l);
        BOOST_TEST(p.feed("$100\r\n") == error_code{});
        error_code ec;
        BOOST_TEST(!p.next(ec));
        BOOST_TEST(ec == error_code(redis_errc::protocol_error));  // announced larger than the bound
    }
    {
        resp::parser p(l);
        BOOST_TEST(p.feed(std::string(70, '+')) == error_code(redis_errc::reply_too_large));
    }
    {
        resp::parser p(l);
        BOOST_TEST(!p.feed("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"));
        error_code ec;
        BOOST_TEST(!p.next(ec));
        BOOST_TEST(ec == error_code(redis_errc::protocol_error));
    }
    {
        resp::parser p(l);
        BOOST_TEST(!p.feed("*4\r\n"));
        error_code ec;
        BOOST_TEST(!p.next(ec));
        BOOST_TEST(ec == error_code(redis_errc::protocol_error));
    }
}

BOOST_AUTO_TEST_CASE(parses_redis_urls)
{
    detail::redis::endpoint e;
    BOOST_TEST(!detail::redis::parse_url("redis://10.0.0.5:6380/3", e));
    BOOST_TEST(e.host == "10.0.0.5");
    BOOST_TEST(e.port == "6380");
    BOOST_TEST(e.db == 3u);
    BOOST_TEST(!detail::redis::parse_url("redis://[::1]:7000", e));
    BOOST_TEST(e.host == "::1");
    BOOST_TEST(!detail::redis::parse_url("redis://cache", e));
    BOOST_TEST(e.port == "6379");
    for (std::string_view bad : {"http://h:1", "redis://", "redis://h:0", "redis://h:99999", "redis://h:1/x",
                                 "redis://user:secret@h:1", "redis://h:1/16"})
        BOOST_TEST(detail::redis::parse_url(bad, e) == error_code(redis_errc::bad_url), bad);
}

BOOST_AUTO_TEST_CASE(lease_is_used_from_its_start_until_it_expires)
{
    using namespace detail::redis;
    budget_config c;
    c.rate = 100;
    c.burst = 10;
    c.lease_ttl = 100ms;
    app_budget b;
    const auto t0 = steady::time_point{} + 1h;
    BOOST_TEST((decide(b, true, t0, c).what == verdict::kind::fetch));
    on_lease(b, 3, 20ms, t0, c);  // reserved ahead: usable from t0 + 20 ms
    auto v = decide(b, true, t0, c);
    BOOST_TEST((v.what == verdict::kind::wait && v.until == t0 + 20ms));
    BOOST_TEST((decide(b, true, t0 + 20ms, c).what == verdict::kind::go_shared));
    refund(b, true, t0 + 21ms);
    BOOST_TEST(b.tokens == 3u);
    BOOST_TEST((decide(b, true, t0 + 200ms, c).what == verdict::kind::fetch));  // expired: dropped
    BOOST_TEST(b.tokens == 0u);
    on_lease(b, 0, 50ms, t0 + 200ms, c);  // none granted: ask again in 50 ms
    v = decide(b, true, t0 + 210ms, c);
    BOOST_TEST((v.what == verdict::kind::wait && v.until == t0 + 250ms));
}

BOOST_AUTO_TEST_CASE(throttle_drops_the_lease_and_carries_the_pause)
{
    using namespace detail::redis;
    budget_config c;
    app_budget b;
    const auto t0 = steady::time_point{} + 1h;
    on_lease(b, 5, 0ms, t0, c);
    on_throttled(b, 700ms, t0);
    BOOST_TEST(b.tokens == 0u);
    BOOST_TEST(b.pending_pause->count() == 700);
    BOOST_TEST((decide(b, true, t0, c).what == verdict::kind::fetch));
}

BOOST_AUTO_TEST_CASE(fallback_takes_only_its_share)
{
    using namespace detail::redis;
    budget_config c;
    c.rate = 400;
    c.burst = 40;
    c.fallback_share = 0.25;  // 100/s, burst 10
    app_budget b;
    const auto t0 = steady::time_point{} + 1h;
    int went = 0;
    auto t = t0;
    for (int i = 0; i < 10000 && t < t0 + 1s; ++i) {
        auto v = decide(b, false, t, c);
        if (v.what == verdict::kind::go_fallback) ++went;
        else t = v.until;
    }
    BOOST_TEST(went >= 105);  // burst 10 + 100 in the second
    BOOST_TEST(went <= 111);
}

BOOST_AUTO_TEST_CASE(back_from_fallback_a_lease_is_also_capped_by_the_share)
{
    using namespace detail::redis;
    budget_config c;
    c.rate = 400;
    c.burst = 8;
    c.fallback_share = 0.25;  // 100/s, burst 2
    c.lease_ttl = 1s;
    app_budget b;
    const auto t0 = steady::time_point{} + 1h;
    on_lease(b, 8, 0ms, t0, c);
    BOOST_TEST((decide(b, true, t0, c, true).what == verdict::kind::go_shared));
    BOOST_TEST((decide(b, true, t0, c, true).what == verdict::kind::go_shared));
    auto v = decide(b, true, t0, c, true);  // the share's burst is spent: wait for its refill
    BOOST_TEST((v.what == verdict::kind::wait));
    BOOST_TEST((v.until > t0 + 9ms && v.until < t0 + 11ms));
    BOOST_TEST(b.tokens == 6u);
    BOOST_TEST((decide(b, true, t0, c, false).what == verdict::kind::go_shared));  // uncapped: the lease alone
}

BOOST_AUTO_TEST_CASE(the_fallback_share_starts_empty)
{
    using namespace detail::redis;
    budget_config c;
    c.rate = 400;
    c.burst = 40;
    c.fallback_share = 0.25;
    app_budget b;
    const auto t0 = steady::time_point{} + 1h;
    on_fallback(b, t0, c);
    auto v = decide(b, false, t0, c);
    BOOST_TEST((v.what == verdict::kind::wait && v.until > t0 + 9ms && v.until < t0 + 11ms));
}

BOOST_AUTO_TEST_CASE(the_fallback_share_first_pays_for_the_lease_in_hand)
{
    using namespace detail::redis;
    budget_config c;
    c.rate = 400;
    c.burst = 40;
    c.fallback_share = 0.25;  // 100/s
    c.lease_ttl = 1s;
    app_budget b;
    const auto t0 = steady::time_point{} + 1h;
    on_lease(b, 10, 0ms, t0, c);
    on_fallback(b, t0, c);
    for (int i = 0; i < 10; ++i) BOOST_TEST((decide(b, false, t0, c).what == verdict::kind::go_shared));
    auto v = decide(b, false, t0, c);  // the 10 leased tokens cost the share 100 ms, then one more token
    BOOST_TEST((v.what == verdict::kind::wait && v.until > t0 + 105ms && v.until < t0 + 115ms));
}

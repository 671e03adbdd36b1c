// SPDX-License-Identifier: BSL-1.0
// smooch-mock over the wire: the rate limit's 429 and refill, the record and the admin endpoint.

#include "wire.hpp"

#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

using namespace mock_test;

BOOST_AUTO_TEST_SUITE(rate_limit_and_record)

BOOST_AUTO_TEST_CASE(rate_limit_429_with_retry_after, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.rate = mock::rate_limit{0.01, 3};  // refill negligible during the test: deterministic
    p.rate_limit_retry_after = true;
    server_fixture f(p);
    client c(f.srv->port());
    for (int i = 0; i < 3; ++i)
        BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a")).result_int() == 201u);
    auto r = c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a"));
    check_error(r, 429, "too_many_requests");
    int retry = std::stoi(std::string(r[http::field::retry_after]));
    BOOST_TEST(retry >= 1);
    BOOST_TEST(retry <= 100);
    check_error(c.request(http::verb::get, msgs_path("app1", "u")), 429, "too_many_requests");            // any route
    BOOST_TEST(c.request(http::verb::post, msgs_path("app2", "u"), text_msg("a")).result_int() == 201u);  // per app
    auto rec = f.srv->record();
    BOOST_TEST(rec.rate_limited == 2u);
    BOOST_TEST(rec.find("app1", "u")->messages.size() == 3u);
    f.srv->set_rate_limit(std::nullopt);
    BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a")).result_int() == 201u);
    f.srv->set_rate_limit(mock::rate_limit{0.01, 1});
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 429u);
}

// By default the limiter answers as Smooch does (docs/api-facts.md#rate-limits): 429 `too_many_requests` with no
// Retry-After. Every response carries a Date header (RFC 9110 §6.6.1: an origin server with a clock sends one).
BOOST_AUTO_TEST_CASE(rate_limit_429_without_retry_after_by_default, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.rate = mock::rate_limit{0.01, 1};
    server_fixture f(p);
    client c(f.srv->port());
    auto ok = c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a"));
    BOOST_TEST(ok.result_int() == 201u);
    auto r = c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a"));
    check_error(r, 429, "too_many_requests");
    BOOST_TEST((r.find(http::field::retry_after) == r.end()), r[http::field::retry_after]);
    for (auto* m : {&ok, &r}) {
        auto date = std::string((*m)[http::field::date]);
        // IMF-fixdate: "Wed, 02 Dec 2026 05:00:00 GMT", today's
        BOOST_TEST(date.size() == 29u, date);
        BOOST_TEST(date.substr(25) == " GMT", date);
        std::time_t now = std::time(nullptr);
        std::tm t{};
        gmtime_r(&now, &t);
        char year[16];
        std::snprintf(year, sizeof year, " %04d ", t.tm_year + 1900);
        BOOST_TEST(date.find(year) != std::string::npos, date);
    }
    BOOST_TEST(f.srv->record().rate_limited == 1u);
}

// The bucket refills over time: 429 after the burst, success again once Retry-After has passed. Requests are
// pipelined in one write so the three of a round reach the server within far less than a refill interval.
BOOST_AUTO_TEST_CASE(rate_limit_refills_after_retry_after, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.rate = mock::rate_limit{5, 2};  // a token every 200 ms, burst 2
    p.rate_limit_retry_after = true;
    server_fixture f(p);
    client c(f.srv->port());
    auto path = msgs_path("app1", "refill");
    std::string round = raw_post(path, text_msg("a")) + raw_post(path, text_msg("b")) + raw_post(path, text_msg("c"));
    auto statuses = [&](int& retry_after) {
        BOOST_REQUIRE(!c.write_raw(round));
        std::vector<unsigned> st;
        for (int i = 0; i < 3; ++i) {
            response r;
            BOOST_REQUIRE(!c.read(r));
            st.push_back(r.result_int());
            if (r.result_int() == 429u) retry_after = std::stoi(std::string(r[http::field::retry_after]));
        }
        return st;
    };
    int retry_after = 0;
    BOOST_TEST(statuses(retry_after) == (std::vector<unsigned>{201, 201, 429}), boost::test_tools::per_element());
    BOOST_TEST(retry_after == 1);  // < 1 token missing at 5/s: 0.2 s, rounded up to whole seconds
    // Wait what the server asked for (a time-based behaviour, not a synchronisation), bounded by the guard.
    asio::steady_timer t(c.cio);
    t.expires_after(std::chrono::seconds(retry_after));
    BOOST_REQUIRE(!c.run([&](auto h) { t.async_wait(h); }));
    // Refilled, and capped at the burst: two more, then 429 again.
    retry_after = 0;
    BOOST_TEST(statuses(retry_after) == (std::vector<unsigned>{201, 201, 429}), boost::test_tools::per_element());
    BOOST_TEST(retry_after == 1);
    auto rec = f.srv->record();
    BOOST_TEST(rec.rate_limited == 2u);
    BOOST_REQUIRE(rec.find("app1", "refill"));
    BOOST_TEST(rec.find("app1", "refill")->texts() == (std::vector<std::string>{"a", "b", "a", "b"}));
}

BOOST_AUTO_TEST_CASE(record_contents, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i)
        ids.emplace_back(post(c, "app1", "u1", "t" + std::to_string(i)).at("message").at("_id").as_string());
    post(c, "app2", "u1", "other");
    c.request(http::verb::get, msgs_path("app1", "u1"));
    c.request(http::verb::delete_, msgs_path("app1", "u1") + "/" + ids[1]);
    auto t1 = std::chrono::steady_clock::now();
    c.request(http::verb::get, "/nope");
    c.request(http::verb::get, msgs_path("app1", "u1"), {}, "");
    auto rec = f.srv->record();
    auto* conv = rec.find("app1", "u1");
    BOOST_REQUIRE(conv);
    BOOST_TEST(conv->message_ids() == (std::vector<std::string>{ids[0], ids[2], ids[3], ids[4]}));
    BOOST_TEST(conv->texts() == (std::vector<std::string>{"t0", "t2", "t3", "t4"}));
    BOOST_TEST(conv->created_ids == ids);
    BOOST_TEST(conv->unread_count == 5);
    BOOST_TEST(rec.conversations.size() == 2u);
    BOOST_TEST(rec.operation_count("post_message") == 6u);
    BOOST_TEST(rec.operation_count("get_messages") == 1u);  // the 401 one did not run
    BOOST_TEST(rec.operation_count("delete_message") == 1u);
    BOOST_TEST(rec.routed.at("get_messages") == 2u);
    BOOST_TEST(rec.routed.at("unknown") == 1u);
    BOOST_TEST(rec.requests_total == 10u);
    BOOST_REQUIRE(rec.requests.size() == 10u);
    BOOST_TEST(rec.requests[0].route == "post_message");
    BOOST_TEST(rec.requests[0].method == "POST");
    BOOST_TEST(rec.requests[0].status == 201u);
    BOOST_TEST(rec.requests[0].applied);
    BOOST_TEST(rec.requests[9].status == 401u);
    BOOST_TEST(!rec.requests[9].applied);
    for (std::size_t i = 1; i < rec.requests.size(); ++i)
        BOOST_TEST((rec.requests[i - 1].arrival <= rec.requests[i].arrival));
    BOOST_TEST(rec.requests_before("app1", t0) == 0u);
    BOOST_TEST(rec.requests_before("app1", t1) == 7u);
    BOOST_TEST(rec.requests_before("app2", t1) == 1u);
    f.srv->reset();
    rec = f.srv->record();
    BOOST_TEST(rec.conversations.empty());
    BOOST_TEST(rec.requests_total == 0u);
}

BOOST_AUTO_TEST_CASE(record_request_limit, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.max_recorded_requests = 3;
    server_fixture f(p);
    client c(f.srv->port());
    for (int i = 0; i < 5; ++i) post(c, "a", "u", "x");
    auto rec = f.srv->record();
    BOOST_TEST(rec.requests.size() == 3u);
    BOOST_TEST(rec.requests_total == 5u);
    BOOST_TEST(rec.find("a", "u")->messages.size() == 5u);
}

BOOST_AUTO_TEST_CASE(admin_endpoint, *boost::unit_test::timeout(guard))
{
    {
        server_fixture closed;  // admin off by default: 404
        client c(closed.srv->port());
        check_error(c.request(http::verb::get, "/_admin/record"), 404, "not_found");
    }
    auto p = server_fixture::default_params();
    p.admin = true;
    server_fixture f(p);
    client c(f.srv->port());
    post(c, "app1", "u", "hello");
    auto r = c.request(http::verb::get, "/_admin/record", {}, "");
    BOOST_TEST(r.result_int() == 200u);
    auto o = body_of(r);
    BOOST_TEST(o.at("requests_total").as_int64() == 1);
    BOOST_TEST(o.at("operations").at("post_message").as_int64() == 1);
    auto& convs = o.at("conversations").as_array();
    BOOST_REQUIRE(convs.size() == 1u);
    BOOST_TEST(convs[0].at("texts").at(0).as_string() == "hello");
    BOOST_TEST(convs[0].at("message_ids").as_array().size() == 1u);
    BOOST_TEST(o.at("requests").at(0).at("route").as_string() == "post_message");

    BOOST_TEST(
        c.request(http::verb::post, "/_admin/faults", "status=503,count=1\nstatus=500,count=1\n", "").result_int() ==
        200u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 503u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 500u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);
    check_error(c.request(http::verb::post, "/_admin/faults", "bogus=1", ""), 400, "bad_request", "bogus");
    c.request(http::verb::post, "/_admin/faults", "status=502", "");
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 502u);
    BOOST_TEST(c.request(http::verb::delete_, "/_admin/faults", {}, "").result_int() == 200u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);

    BOOST_TEST(c.request(http::verb::post, "/_admin/rate-limit", "0.01,1", "").result_int() == 200u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 429u);
    BOOST_TEST(c.request(http::verb::post, "/_admin/rate-limit", "off", "").result_int() == 200u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);

    BOOST_TEST(c.request(http::verb::post, "/_admin/reset", {}, "").result_int() == 200u);
    check_error(c.request(http::verb::get, msgs_path("app1", "u")), 404, "conversation_not_found");
    BOOST_TEST(body_of(c.request(http::verb::get, "/_admin/record", {}, "")).at("requests_total").as_int64() == 1);

    // Counts this connection's earlier requests too: it is closed right after this response.
    BOOST_TEST(c.request(http::verb::post, "/_admin/connections", "close_after_requests=1", "").result_int() == 200u);
    BOOST_TEST(!!c.wait_closed());
    client c2(f.srv->port());
    BOOST_TEST(c2.request(http::verb::post, "/_admin/connections", "close_after_requests=0,idle_timeout=60000", "")
                   .result_int() == 200u);
    BOOST_TEST(c2.request(http::verb::get, "/_admin/record", {}, "").result_int() == 200u);
    check_error(c2.request(http::verb::post, "/_admin/connections", "bogus=1", ""), 400, "bad_request");
    check_error(c2.request(http::verb::post, "/_admin/connections", "idle_timeout=0", ""), 400, "bad_request",
                "idle_timeout");
    BOOST_TEST(c2.request(http::verb::get, "/_admin/record", {}, "").result_int() == 200u);  // still usable
}

BOOST_AUTO_TEST_SUITE_END()

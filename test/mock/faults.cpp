// SPDX-License-Identifier: BSL-1.0
// smooch-mock over the wire: what each fault action does to the connection and the response, per-connection
// faults (close after N requests, idle timeout). The grammar and matching rules: test/unit/mock_engine.

#include "wire.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace mock_test;

BOOST_AUTO_TEST_SUITE(faults)

BOOST_AUTO_TEST_CASE(status_with_and_without_retry_after, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    f.srv->add_fault(mock::parse_fault("status=503,retry_after=1,count=2,route=post_message"));
    f.srv->add_fault(mock::parse_fault(R"(status=429,retry_after="Wed, 21 Oct 2015 07:28:00 GMT",count=1,method=GET)"));
    f.srv->add_fault(mock::parse_fault("status=500,count=1,method=GET"));
    auto r = c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a"));
    check_error(r, 503, "service_unavailable");
    BOOST_TEST(r[http::field::retry_after] == "1");
    BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a")).result_int() == 503u);
    BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a")).result_int() == 201u);
    r = c.request(http::verb::get, msgs_path("app1", "u"));
    check_error(r, 429, "too_many_requests");
    BOOST_TEST(r[http::field::retry_after] == "Wed, 21 Oct 2015 07:28:00 GMT");
    r = c.request(http::verb::get, msgs_path("app1", "u"));
    check_error(r, 500, "internal_error");
    BOOST_TEST((r.find(http::field::retry_after) == r.end()));
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);
    auto rec = f.srv->record();
    BOOST_TEST(rec.fault_count(mock::fault_action::status) == 4u);
    BOOST_TEST(rec.find("app1", "u")->created_ids.size() == 1u);  // faulted posts were not applied
    BOOST_TEST(rec.rate_limited == 0u);
    BOOST_TEST(rec.requests[0].faulted);
    BOOST_TEST(!rec.requests[0].applied);
    BOOST_TEST(rec.requests[0].status == 503u);
}

BOOST_AUTO_TEST_CASE(status_applied_before_fault, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    f.srv->add_fault(mock::parse_fault("status=500,apply,count=1"));
    BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a")).result_int() == 500u);
    auto rec = f.srv->record();
    BOOST_TEST(rec.find("app1", "u")->messages.size() == 1u);
    BOOST_TEST(rec.requests[0].applied);
}

BOOST_AUTO_TEST_CASE(delay, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    f.srv->add_fault(mock::parse_fault("delay=300,count=1"));
    auto t0 = std::chrono::steady_clock::now();
    BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a")).result_int() == 201u);
    BOOST_TEST((std::chrono::steady_clock::now() - t0 >= 300ms));
    BOOST_TEST(f.srv->record().fault_count(mock::fault_action::none) == 1u);
    // With a status: the status comes after the delay.
    f.srv->add_fault(mock::parse_fault("delay=200,status=503,count=1"));
    t0 = std::chrono::steady_clock::now();
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 503u);
    BOOST_TEST((std::chrono::steady_clock::now() - t0 >= 200ms));
}

BOOST_AUTO_TEST_CASE(reset_before_response, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    f.srv->add_fault(mock::parse_fault("reset,count=1,route=post_message"));
    f.srv->add_fault(mock::parse_fault("reset,apply,count=1,route=post_message"));
    {
        client c(f.srv->port());
        BOOST_REQUIRE(
            !c.send(http::verb::post, msgs_path("app1", "u"), text_msg("lost"), basic_std("acct", "acct-secret")));
        response r;
        auto ec = c.read(r);
        // A TCP RST: the kernel reports ECONNRESET, which the SSL stream and Beast pass through unchanged.
        BOOST_TEST((ec == asio::error::connection_reset), ec.category().name()
                                                              << ":" << ec.value() << " " << ec.message());
    }
    BOOST_TEST(!f.srv->record().find("app1", "u"));  // not applied
    {
        client c(f.srv->port());
        BOOST_REQUIRE(
            !c.send(http::verb::post, msgs_path("app1", "u"), text_msg("stored"), basic_std("acct", "acct-secret")));
        response r;
        auto ec = c.read(r);
        BOOST_TEST((ec == asio::error::connection_reset), ec.category().name()
                                                              << ":" << ec.value() << " " << ec.message());
    }
    auto rec = f.srv->record();
    BOOST_REQUIRE(rec.find("app1", "u"));
    BOOST_TEST(rec.find("app1", "u")->texts() == std::vector<std::string>{"stored"});
    BOOST_TEST(rec.fault_count(mock::fault_action::reset) == 2u);
    BOOST_TEST(rec.requests[1].status == 0u);
    BOOST_TEST(rec.requests[1].applied);
    client c(f.srv->port());
    BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a")).result_int() == 201u);
}

BOOST_AUTO_TEST_CASE(close_after_response, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    f.srv->add_fault(mock::parse_fault("close,count=1"));
    client c(f.srv->port());
    auto r = c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a"));
    BOOST_TEST(r.result_int() == 201u);
    BOOST_TEST(r.keep_alive());  // no Connection: close: the client learns only by the closed socket
    auto ec = c.wait_closed();
    BOOST_TEST((ec && ec != asio::error::timed_out), ec.message());
    BOOST_TEST(f.srv->record().find("app1", "u")->messages.size() == 1u);
}

BOOST_AUTO_TEST_CASE(truncate_body, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    f.srv->add_fault(mock::parse_fault("truncate,count=1"));
    f.srv->add_fault(mock::parse_fault("truncate,apply,count=1"));
    for (int i = 0; i < 2; ++i) {
        client c(f.srv->port());
        BOOST_REQUIRE(
            !c.send(http::verb::post, msgs_path("app1", "u"), text_msg("t"), basic_std("acct", "acct-secret")));
        http::response_parser<http::string_body> p;
        auto ec = c.run([&](auto h) { http::async_read_header(*c.stream, c.buf, p, h); });
        BOOST_REQUIRE(!ec);
        BOOST_TEST(p.get().result_int() == 201u);
        BOOST_TEST(p.content_length().value_or(0) > 0u);
        ec = c.run([&](auto h) { http::async_read(*c.stream, c.buf, p, h); });
        BOOST_TEST(!!ec);  // body cut short, then the connection closed
        BOOST_TEST((ec != asio::error::timed_out));
    }
    auto rec = f.srv->record();
    BOOST_TEST(rec.find("app1", "u")->messages.size() == 1u);
    BOOST_TEST(rec.fault_count(mock::fault_action::truncate) == 2u);
}

BOOST_AUTO_TEST_CASE(malformed_body, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    post(c, "app1", "u", "a");
    f.srv->add_fault(mock::parse_fault("malformed,count=1,route=get_messages"));
    f.srv->add_fault(mock::parse_fault("malformed,status=502,count=1"));
    auto r = c.request(http::verb::get, msgs_path("app1", "u"));
    BOOST_TEST(r.result_int() == 200u);
    error_code ec;
    json::parse(r.body(), ec);
    BOOST_TEST(!!ec);
    r = c.request(http::verb::get, msgs_path("app1", "u"));  // same connection still usable
    BOOST_TEST(r.result_int() == 502u);
    json::parse(r.body(), ec);
    BOOST_TEST(!!ec);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);
}

BOOST_AUTO_TEST_CASE(stall_after_headers, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.idle_timeout = 500ms;  // bounds the stall
    server_fixture f(p);
    f.srv->add_fault(mock::parse_fault("stall,count=1"));
    client c(f.srv->port());
    BOOST_REQUIRE(!c.send(http::verb::post, msgs_path("app1", "u"), text_msg("s"), basic_std("acct", "acct-secret")));
    http::response_parser<http::string_body> rp;
    auto ec = c.run([&](auto h) { http::async_read_header(*c.stream, c.buf, rp, h); });
    BOOST_REQUIRE(!ec);
    BOOST_TEST(rp.get().result_int() == 201u);
    auto t0 = std::chrono::steady_clock::now();
    ec = c.run([&](auto h) { http::async_read(*c.stream, c.buf, rp, h); });
    BOOST_TEST(!!ec);
    BOOST_TEST((ec != asio::error::timed_out));  // the server gave up after idle_timeout
    BOOST_TEST((std::chrono::steady_clock::now() - t0 >= 400ms));
    BOOST_TEST(!f.srv->record().find("app1", "u"));
}

BOOST_AUTO_TEST_CASE(matching_skip_and_probability, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    post(c, "app1", "u", "a");
    post(c, "app2", "u", "a");
    f.srv->add_fault(mock::parse_fault("status=503,app=app2,route=get_messages,skip=1,count=2"));
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);                  // other app
    BOOST_TEST(c.request(http::verb::post, msgs_path("app2", "u"), text_msg("b")).result_int() == 201u);  // other route
    BOOST_TEST(c.request(http::verb::get, msgs_path("app2", "u")).result_int() == 200u);                  // skipped
    BOOST_TEST(c.request(http::verb::get, msgs_path("app2", "u")).result_int() == 503u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app2", "u")).result_int() == 503u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app2", "u")).result_int() == 200u);  // retired
    f.srv->clear_faults();

    // Probability: deterministic for a seed, and roughly the asked fraction.
    auto run_seeded = [&](std::uint64_t seed) {
        auto p = server_fixture::default_params();
        p.seed = seed;
        p.faults.push_back(mock::parse_fault("status=503,probability=0.3"));
        server_fixture g(p);
        client cc(g.srv->port());
        std::vector<unsigned> statuses;
        for (int i = 0; i < 200; ++i) statuses.push_back(cc.request(http::verb::get, "/x").result_int());
        return statuses;
    };
    auto a = run_seeded(42), b = run_seeded(42), d = run_seeded(7);
    BOOST_TEST(a == b);
    BOOST_TEST(a != d);
    auto n503 = std::count(a.begin(), a.end(), 503u);
    BOOST_TEST(n503 > 30);
    BOOST_TEST(n503 < 90);
}

BOOST_AUTO_TEST_CASE(close_after_n_requests, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.close_after_requests = 2;
    server_fixture f(p);
    client c(f.srv->port());
    BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a")).result_int() == 201u);
    auto r = c.request(http::verb::post, msgs_path("app1", "u"), text_msg("b"));
    BOOST_TEST(r.result_int() == 201u);
    BOOST_TEST(r.keep_alive());  // silently
    auto ec = c.wait_closed();
    BOOST_TEST((ec && ec != asio::error::timed_out));
    f.srv->set_close_after_requests(0);
    client c2(f.srv->port());
    for (int i = 0; i < 5; ++i) BOOST_TEST(c2.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);
}

BOOST_AUTO_TEST_CASE(idle_connections_closed_silently, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.idle_timeout = 300ms;
    server_fixture f(p);
    client c(f.srv->port());
    auto r = c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a"));
    BOOST_TEST(r.keep_alive());
    auto t0 = std::chrono::steady_clock::now();
    auto ec = c.wait_closed();
    BOOST_TEST((ec && ec != asio::error::timed_out));
    BOOST_TEST((std::chrono::steady_clock::now() - t0 >= 250ms));
    // The stale connection fails on reuse; a new one works.
    c.connect();
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);
}

BOOST_AUTO_TEST_SUITE_END()

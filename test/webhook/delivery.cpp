// SPDX-License-Identifier: BSL-1.0
// smooch-mock delivering webhooks over the wire (the in-process server, a scripted target): the request, the
// retries and their intervals, what is never retried, timeouts, unreachable and https targets, the duplicate and
// failure faults, the in-flight bound, changing the target at run time.

#include "support.hpp"

#include <smooch/json.hpp>
#include <smooch/webhook.hpp>

#include <boost/test/unit_test.hpp>

#include <set>

using namespace webhook_test;

namespace {

mock::webhook_params hook_to(const receiver& r, const std::string& path = "/hook")
{
    mock::webhook_params w;
    w.target = r.url(path);
    w.secret = "hook-secret";
    w.retry_base = std::chrono::milliseconds(20);
    return w;
}

struct fixture_with_hook {
    explicit fixture_with_hook(mock::webhook_params w, mock::server_params p = server_fixture::default_params())
        : srv((p.webhook = std::move(w), std::move(p)))
    {}
    mock::record record() const { return srv.srv->record(); }
    /// Waits until every queued delivery has ended (delivered or given up) and `n` were queued.
    bool settled(std::uint64_t n)
    {
        return wait_for([&] {
            auto r = record();
            return r.webhooks_queued >= n && r.webhooks_delivered + r.webhooks_failed >= r.webhooks_queued;
        });
    }
    server_fixture srv;
};

std::string post_app_user(unsigned short port, const std::string& user, const std::string& text = "hi")
{
    client c(port);
    auto body = post(c, "app1", user, text, "appUser");
    return json::value_to<std::string>(body.at("message").at("_id"));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(delivery)

BOOST_AUTO_TEST_CASE(posts_the_payload_with_the_secret, *boost::unit_test::timeout(guard))
{
    receiver target;
    fixture_with_hook f(hook_to(target, "/hooks/smooch?src=mock"));
    const std::string id = post_app_user(f.srv.srv->port(), "user 1", "hello");
    BOOST_TEST_REQUIRE(f.settled(1));
    auto got = target.requests();
    BOOST_TEST_REQUIRE(got.size() == 1u);
    const auto& r = got[0];
    BOOST_TEST(r.method == "POST");
    BOOST_TEST(r.target == "/hooks/smooch?src=mock");
    BOOST_TEST(r.headers.at("x-api-key") == "hook-secret");
    BOOST_TEST(r.headers.at("content-type") == "application/json");
    BOOST_TEST(r.headers.at("host") == "127.0.0.1:" + std::to_string(target.port()));
    smooch::diagnostics diag;
    auto p = smooch::parse<smooch::webhook_payload>(r.body, diag);
    BOOST_TEST_REQUIRE(p.has_value(), diag.message);
    BOOST_TEST((p->trigger == smooch::webhook_trigger::message_app_user));
    BOOST_TEST(p->messages->front().id.value() == id);
    BOOST_TEST(p->messages->front().text.value() == "hello");
    BOOST_TEST(p->app_user->user_id.value() == "user 1");

    auto rec = f.record();
    BOOST_TEST(rec.webhooks_delivered == 1u);
    BOOST_TEST_REQUIRE(rec.webhook_deliveries.size() == 1u);
    const auto& a = rec.webhook_deliveries[0];
    BOOST_TEST((a.outcome == mock::webhook_outcome::delivered));
    BOOST_TEST(a.status == 200u);
    BOOST_TEST(a.attempt == 1u);
    BOOST_TEST(a.answer_time.count() > 0);
    BOOST_TEST(a.elapsed >= a.answer_time);
    BOOST_TEST(!a.retry_in.has_value());
    BOOST_TEST(mock::to_json(rec).find("hook-secret") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(retries_at_growing_intervals_then_gives_up, *boost::unit_test::timeout(guard))
{
    receiver target([](std::size_t, const received&) { return 500; });
    auto w = hook_to(target);
    w.retry_base = std::chrono::milliseconds(30);
    w.max_retries = 3;
    fixture_with_hook f(w);
    post_app_user(f.srv.srv->port(), "u");
    BOOST_TEST_REQUIRE(f.settled(1));
    auto rec = f.record();
    BOOST_TEST(rec.webhooks_failed == 1u);
    BOOST_TEST_REQUIRE(rec.webhook_deliveries.size() == 4u);  // the first try and 3 retries
    BOOST_TEST(target.count() == 4u);
    for (unsigned i = 0; i < 4; ++i) {
        const auto& a = rec.webhook_deliveries[i];
        BOOST_TEST(a.attempt == i + 1);
        BOOST_TEST(a.status == 500u);
        BOOST_TEST((a.outcome == mock::webhook_outcome::status));
        if (i < 3) {
            BOOST_TEST_REQUIRE(a.retry_in.has_value());
            BOOST_TEST(a.retry_in->count() == 30 << i);
            // The next attempt starts no earlier than the interval after this one ended.
            BOOST_TEST((rec.webhook_deliveries[i + 1].start - (a.start + a.elapsed) >= *a.retry_in));
        } else {
            BOOST_TEST(!a.retry_in.has_value());
        }
    }
}

BOOST_AUTO_TEST_CASE(non_recoverable_statuses_are_not_retried, *boost::unit_test::timeout(guard))
{
    // The status depends on the user, so the order in which deliveries arrive does not matter.
    receiver target([](std::size_t, const received& r) {
        for (int s : {400, 401, 403, 404, 406})
            if (r.body.find("\"userId\":\"u" + std::to_string(s) + "\"") != std::string::npos) return s;
        return 200;
    });
    fixture_with_hook f(hook_to(target));
    for (int s : {400, 401, 403, 404, 406}) post_app_user(f.srv.srv->port(), "u" + std::to_string(s));
    BOOST_TEST_REQUIRE(f.settled(5));
    auto rec = f.record();
    BOOST_TEST(rec.webhooks_failed == 5u);
    BOOST_TEST(rec.webhook_deliveries.size() == 5u);
    for (auto& a : rec.webhook_deliveries) {
        BOOST_TEST((a.outcome == mock::webhook_outcome::rejected), a.user_id);
        BOOST_TEST(!a.retry_in.has_value());
        BOOST_TEST(a.user_id == "u" + std::to_string(a.status));
    }
    BOOST_TEST(target.count() == 5u);
}

BOOST_AUTO_TEST_CASE(a_recoverable_failure_then_success, *boost::unit_test::timeout(guard))
{
    receiver target([](std::size_t i, const received&) { return i == 0 ? 503 : 200; });
    fixture_with_hook f(hook_to(target));
    post_app_user(f.srv.srv->port(), "u");
    BOOST_TEST_REQUIRE(f.settled(1));
    auto rec = f.record();
    BOOST_TEST(rec.webhooks_delivered == 1u);
    BOOST_TEST_REQUIRE(rec.webhook_deliveries.size() == 2u);
    BOOST_TEST(rec.webhook_deliveries[0].status == 503u);
    BOOST_TEST((rec.webhook_deliveries[1].outcome == mock::webhook_outcome::delivered));
    auto got = target.requests();
    BOOST_TEST_REQUIRE(got.size() == 2u);
    BOOST_TEST(got[0].body == got[1].body);  // a redelivery is the same payload: receivers de-duplicate by _id
}

BOOST_AUTO_TEST_CASE(a_target_that_never_answers_times_out, *boost::unit_test::timeout(guard))
{
    receiver target([](std::size_t, const received&) { return -1; });
    auto w = hook_to(target);
    w.attempt_timeout = std::chrono::milliseconds(150);
    w.max_retries = 1;
    fixture_with_hook f(w);
    const auto t0 = clock_type::now();
    post_app_user(f.srv.srv->port(), "u");
    BOOST_TEST_REQUIRE(f.settled(1));
    BOOST_TEST((clock_type::now() - t0 < std::chrono::seconds(10)));
    auto rec = f.record();
    BOOST_TEST_REQUIRE(rec.webhook_deliveries.size() == 2u);
    for (auto& a : rec.webhook_deliveries) {
        BOOST_TEST((a.outcome == mock::webhook_outcome::timeout));
        BOOST_TEST(a.error == "no answer within 150 ms");
        BOOST_TEST((a.elapsed >= std::chrono::milliseconds(150)));
        BOOST_TEST(a.status == 0u);
    }
    BOOST_TEST(rec.webhooks_failed == 1u);
}

BOOST_AUTO_TEST_CASE(an_unreachable_target_is_an_error, *boost::unit_test::timeout(guard))
{
    unsigned short closed_port;
    {
        asio::io_context io;
        tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        closed_port = a.local_endpoint().port();
    }
    mock::webhook_params w;
    w.target = "http://127.0.0.1:" + std::to_string(closed_port) + "/";
    w.secret = "s";
    w.retry_base = std::chrono::milliseconds(5);
    w.max_retries = 2;
    fixture_with_hook f(w);
    post_app_user(f.srv.srv->port(), "u");
    BOOST_TEST_REQUIRE(f.settled(1));
    auto rec = f.record();
    BOOST_TEST_REQUIRE(rec.webhook_deliveries.size() == 3u);
    for (auto& a : rec.webhook_deliveries) {
        BOOST_TEST((a.outcome == mock::webhook_outcome::error));
        BOOST_TEST(a.error.rfind("connect: ", 0) == 0, a.error);
    }
}

BOOST_AUTO_TEST_CASE(https_targets_and_their_ca, *boost::unit_test::timeout(guard))
{
    receiver target({}, true);
    auto w = hook_to(target);
    w.max_retries = 0;
    {
        w.ca_pem = shared_tls().ca_pem;  // --webhook-ca
        fixture_with_hook f(w);
        post_app_user(f.srv.srv->port(), "u");
        BOOST_TEST_REQUIRE(f.settled(1));
        BOOST_TEST(f.record().webhooks_delivered == 1u);
        BOOST_TEST(target.count() == 1u);
        BOOST_TEST(target.requests()[0].headers.at("x-api-key") == "hook-secret");
    }
    {
        w.ca_pem.clear();  // the system's store does not know the test CA
        fixture_with_hook f(w);
        post_app_user(f.srv.srv->port(), "u");
        BOOST_TEST_REQUIRE(f.settled(1));
        auto rec = f.record();
        BOOST_TEST(rec.webhooks_failed == 1u);
        BOOST_TEST_REQUIRE(rec.webhook_deliveries.size() == 1u);
        BOOST_TEST(rec.webhook_deliveries[0].error.rfind("TLS handshake: ", 0) == 0, rec.webhook_deliveries[0].error);
        BOOST_TEST(target.count() == 1u);  // nothing more arrived
    }
}

BOOST_AUTO_TEST_CASE(the_duplicate_fault_delivers_twice, *boost::unit_test::timeout(guard))
{
    receiver target;
    auto w = hook_to(target);
    w.duplicate_probability = 1;
    fixture_with_hook f(w);
    post_app_user(f.srv.srv->port(), "u");
    BOOST_TEST_REQUIRE(f.settled(2));
    auto got = target.requests();
    BOOST_TEST_REQUIRE(got.size() == 2u);
    BOOST_TEST(got[0].body == got[1].body);
    auto rec = f.record();
    BOOST_TEST(rec.webhooks_delivered == 2u);
    BOOST_TEST(rec.webhook_deliveries[0].duplicate != rec.webhook_deliveries[1].duplicate);
}

BOOST_AUTO_TEST_CASE(an_injected_failure_is_retried_and_seen_twice, *boost::unit_test::timeout(guard))
{
    receiver target;
    auto w = hook_to(target);
    w.fail_first = 1;
    fixture_with_hook f(w);
    post_app_user(f.srv.srv->port(), "u");
    BOOST_TEST_REQUIRE(f.settled(1));
    BOOST_TEST_REQUIRE(wait_for([&] { return target.count() == 2; }));
    auto rec = f.record();
    BOOST_TEST_REQUIRE(rec.webhook_deliveries.size() == 2u);
    BOOST_TEST((rec.webhook_deliveries[0].outcome == mock::webhook_outcome::injected));
    BOOST_TEST(rec.webhook_deliveries[0].retry_in.has_value());
    BOOST_TEST((rec.webhook_deliveries[1].outcome == mock::webhook_outcome::delivered));
    auto got = target.requests();
    BOOST_TEST(got[0].body == got[1].body);  // the receiver got the lost attempt too
}

BOOST_AUTO_TEST_CASE(deliveries_in_flight_are_bounded, *boost::unit_test::timeout(guard))
{
    receiver target({}, false, std::chrono::milliseconds(40));  // each answer takes 40 ms
    auto w = hook_to(target);
    w.max_in_flight = 2;
    fixture_with_hook f(w);
    client c(f.srv.srv->port());
    for (int i = 0; i < 8; ++i) post(c, "app1", "u" + std::to_string(i), "x", "appUser");
    BOOST_TEST_REQUIRE(f.settled(8));
    BOOST_TEST(f.record().webhooks_delivered == 8u);
    BOOST_TEST(target.max_concurrent() <= 2u);
    BOOST_TEST(target.max_concurrent() >= 1u);
}

BOOST_AUTO_TEST_CASE(set_at_run_time_and_cleared, *boost::unit_test::timeout(guard))
{
    receiver target;
    auto p = server_fixture::default_params();
    p.admin = true;
    server_fixture s(p);
    post_app_user(s.srv->port(), "before");
    s.srv->set_webhook(hook_to(target));
    post_app_user(s.srv->port(), "during");
    BOOST_TEST_REQUIRE(wait_for([&] { return s.srv->record().webhooks_delivered == 1; }));
    s.srv->set_webhook(std::nullopt);
    post_app_user(s.srv->port(), "after");
    // Through the admin endpoint too.
    client c(s.srv->port());
    json::object settings{
        {"target", target.url()}, {"secret", "via-admin"}, {"triggers", json::array{"message:appUser"}}};
    auto r = c.request(http::verb::post, "/_admin/webhook", json::serialize(settings), "");
    BOOST_TEST_REQUIRE(r.result_int() == 200u, r.body());
    post(c, "app1", "admin", "x", "appUser");
    post(c, "app1", "admin", "from the app maker", "appMaker");  // not subscribed
    BOOST_TEST_REQUIRE(wait_for([&] { return s.srv->record().webhooks_delivered == 2; }));
    auto got = target.requests();
    BOOST_TEST_REQUIRE(got.size() == 2u);
    BOOST_TEST(got[0].body.find("\"userId\":\"during\"") != std::string::npos);
    BOOST_TEST(got[1].body.find("\"userId\":\"admin\"") != std::string::npos);
    BOOST_TEST(got[1].headers.at("x-api-key") == "via-admin");
    BOOST_TEST(s.srv->record().webhooks_queued == 2u);
}

BOOST_AUTO_TEST_CASE(stopping_ends_waiting_deliveries, *boost::unit_test::timeout(guard))
{
    receiver target([](std::size_t, const received&) { return 500; });
    auto w = hook_to(target);
    w.retry_base = std::chrono::hours(1);  // a retry that would wait an hour
    auto f = std::make_unique<fixture_with_hook>(w);
    post_app_user(f->srv.srv->port(), "u");
    BOOST_TEST_REQUIRE(wait_for([&] { return f->record().webhook_deliveries.size() == 1; }));
    const auto t0 = clock_type::now();
    f.reset();  // stop() and join the server's thread: the hour-long wait must not hold it
    BOOST_TEST((clock_type::now() - t0 < std::chrono::seconds(5)));
}

BOOST_AUTO_TEST_SUITE_END()

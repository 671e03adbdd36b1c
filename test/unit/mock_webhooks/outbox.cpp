// SPDX-License-Identifier: BSL-1.0
// What the engine decides about webhooks (docs/mock.md "Webhooks"), driven without sockets or a clock: requests
// go through engine::handle() and attempts are reported with webhook_attempt_done(), as the server's sender does.

#include "engine_test.hpp"

#include <smooch/json.hpp>
#include <smooch/webhook.hpp>

#include <boost/test/unit_test.hpp>

#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace mock_engine_test;

namespace {

mock::webhook_params hook(std::vector<std::string> triggers = {"message"})
{
    mock::webhook_params w;
    w.target = "http://127.0.0.1:9/hook";
    w.secret = "hook-secret";
    w.triggers = std::move(triggers);
    w.retry_base = 100ms;
    return w;
}

mock::server_params with_hook(mock::webhook_params w = hook())
{
    auto p = keyed_params();
    p.webhook = std::move(w);
    return p;
}

smooch::webhook_payload payload_of(const mock::webhook_delivery& d)
{
    smooch::diagnostics diag;
    auto p = smooch::parse<smooch::webhook_payload>(d.body, diag);
    BOOST_TEST_REQUIRE(p.has_value(), diag.message << " in " << d.body);
    return *p;
}

std::string posted_id(const mock::http_response& r)
{
    return json::value_to<std::string>(body_of(r).at("message").at("_id"));
}

mock::webhook_attempt_record attempt(unsigned n, mock::webhook_outcome o, unsigned status = 0)
{
    mock::webhook_attempt_record r;
    r.attempt = n;
    r.outcome = o;
    r.status = status;
    return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(outbox)

BOOST_AUTO_TEST_CASE(an_app_user_message_gives_message_app_user)
{
    driver d(with_hook());
    auto r = d.send("POST", msgs_path("app1", "user 1"), text_body("hello", "appUser"));
    BOOST_TEST_REQUIRE(r.status == 201u, r.body);
    BOOST_TEST(d.e.has_webhooks());
    auto out = d.e.take_webhooks(10);
    BOOST_TEST_REQUIRE(out.size() == 1u);
    BOOST_TEST(!d.e.has_webhooks());
    const auto& w = out[0];
    BOOST_TEST(w.id == 1u);
    BOOST_TEST(w.trigger == "message:appUser");
    BOOST_TEST(w.app_id == "app1");
    BOOST_TEST(w.user_id == "user 1");
    BOOST_TEST(!w.duplicate);
    const std::string id = posted_id(r);
    BOOST_TEST((w.message_ids == std::vector<std::string>{id}));

    const auto p = payload_of(w);
    BOOST_TEST((p.trigger == smooch::webhook_trigger::message_app_user));
    BOOST_TEST(p.app->id.value() == "app1");
    BOOST_TEST(p.version.value() == "v1.1");
    BOOST_TEST_REQUIRE(p.messages->size() == 1u);
    BOOST_TEST(p.messages->front().id.value() == id);
    BOOST_TEST(p.messages->front().text.value() == "hello");
    BOOST_TEST((p.messages->front().role.value() == smooch::role::app_user));
    BOOST_TEST(p.messages->front().received.has_value());
    BOOST_TEST(p.app_user->user_id.value() == "user 1");
    BOOST_TEST(p.app_user->id.value() == p.messages->front().author_id.value());
    BOOST_TEST(p.app_user->conversation_started.value());
    BOOST_TEST(p.conversation->id.value() == json::value_to<std::string>(body_of(r).at("conversation").at("_id")));
    // The payload's message is the stored one, byte for byte.
    BOOST_TEST(w.body.find(d.e.snapshot().conversations.front().messages.front().json) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(triggers_filter_what_is_queued)
{
    {
        driver d(with_hook(hook({"message"})));  // both roles
        d.post("app1", "u", "from the bot");
        d.send("POST", msgs_path("app1", "u"), text_body("from the user", "appUser"));
        auto out = d.e.take_webhooks(10);
        BOOST_TEST_REQUIRE(out.size() == 2u);
        BOOST_TEST(out[0].trigger == "message:appMaker");
        BOOST_TEST(out[1].trigger == "message:appUser");
        BOOST_TEST(out[0].id < out[1].id);
    }
    {
        driver d(with_hook(hook({"message:appUser"})));
        d.post("app1", "u", "from the bot");
        BOOST_TEST(!d.e.has_webhooks());
        d.send("POST", "/v1.1/apps/app1/appusers/u/conversation/read");
        BOOST_TEST(!d.e.has_webhooks());
    }
    {
        driver d(with_hook(hook({"*"})));
        d.post("app1", "u", "x");
        d.send("POST", "/v1.1/apps/app1/appusers/u/conversation/read");
        auto out = d.e.take_webhooks(10);
        BOOST_TEST_REQUIRE(out.size() == 2u);
        BOOST_TEST(out[1].trigger == "conversation:read");
    }
    {
        driver d(with_hook(hook({"postback", "delivery:success"})));  // accepted, never produced
        d.send("POST", msgs_path("app1", "u"), text_body("x", "appUser"));
        BOOST_TEST(!d.e.has_webhooks());
    }
}

BOOST_AUTO_TEST_CASE(reset_unread_count_gives_conversation_read)
{
    driver d(with_hook(hook({"conversation:read"})));
    auto posted = d.post("app1", "u", "x");
    // An app maker's read receipt (activity conversation:read) is not the user reading: no webhook.
    auto act = d.send("POST", "/v1.1/apps/app1/appusers/u/conversation/activity",
                      R"({"role":"appMaker","type":"conversation:read"})");
    BOOST_TEST(act.status == 200u, act.body);
    BOOST_TEST(!d.e.has_webhooks());
    auto r = d.send("POST", "/v1.1/apps/app1/appusers/u/conversation/read");
    BOOST_TEST_REQUIRE(r.status == 200u, r.body);
    auto out = d.e.take_webhooks(10);
    BOOST_TEST_REQUIRE(out.size() == 1u);
    BOOST_TEST(out[0].message_ids.empty());
    const auto p = payload_of(out[0]);
    BOOST_TEST((p.trigger == smooch::webhook_trigger::conversation_read));
    BOOST_TEST(p.app_user->user_id.value() == "u");
    BOOST_TEST(p.conversation->id.value() == json::value_to<std::string>(body_of(posted).at("conversation").at("_id")));
    BOOST_TEST(p.timestamp.value() > 1.5e9);
    BOOST_TEST((p.source->type.value() == smooch::integration_type::api));
    // No conversation, no read, no webhook.
    d.send("POST", "/v1.1/apps/app1/appusers/nobody/conversation/read");
    BOOST_TEST(!d.e.has_webhooks());
}

BOOST_AUTO_TEST_CASE(only_what_was_stored_is_reported)
{
    driver d(with_hook());
    d.post("app1", "u", "x", "Basic bm9ib2R5Om5vcGU=");                             // 401
    d.send("POST", msgs_path("app1", "u"), R"({"role":"appUser","type":"text"})");  // 400
    d.send("POST", msgs_path("app1", "u"), R"({"role":"appUser","type":"text","text":"x"})", app1_basic, 0ms);
    BOOST_TEST(d.e.take_webhooks(10).size() == 1u);
    // A fault that hides the request: nothing stored, nothing reported. With apply: stored, and reported.
    d.e.add_fault(mock::parse_fault("status=503,count=1"));
    d.send("POST", msgs_path("app1", "u"), text_body("hidden", "appUser"));
    BOOST_TEST(!d.e.has_webhooks());
    d.e.add_fault(mock::parse_fault("reset,apply,count=1"));
    d.send("POST", msgs_path("app1", "u"), text_body("applied", "appUser"));
    auto out = d.e.take_webhooks(10);
    BOOST_TEST_REQUIRE(out.size() == 1u);
    BOOST_TEST(payload_of(out[0]).messages->front().text.value() == "applied");
}

BOOST_AUTO_TEST_CASE(no_webhook_without_settings_and_clearing_empties_the_outbox)
{
    driver d;
    d.send("POST", msgs_path("app1", "u"), text_body("x", "appUser"));
    BOOST_TEST(!d.e.has_webhooks());
    BOOST_TEST(d.e.webhook() == nullptr);
    d.e.set_webhook(hook());
    BOOST_TEST(d.e.webhook() != nullptr);
    d.send("POST", msgs_path("app1", "u"), text_body("y", "appUser"));
    BOOST_TEST(d.e.has_webhooks());
    d.e.set_webhook(std::nullopt);
    BOOST_TEST(!d.e.has_webhooks());
    BOOST_TEST(d.e.take_webhooks(10).empty());
    d.e.set_webhook(hook());
    d.send("POST", msgs_path("app1", "u"), text_body("z", "appUser"));
    d.e.reset();
    BOOST_TEST(!d.e.has_webhooks());
    BOOST_TEST(d.e.webhook() != nullptr);  // reset keeps the settings, like the fault rules
}

BOOST_AUTO_TEST_CASE(take_webhooks_is_bounded_and_in_order)
{
    driver d(with_hook());
    for (int i = 0; i < 5; ++i) d.send("POST", msgs_path("app1", "u" + std::to_string(i)), text_body("x", "appUser"));
    auto first = d.e.take_webhooks(2);
    auto rest = d.e.take_webhooks(10);
    BOOST_TEST_REQUIRE(first.size() == 2u);
    BOOST_TEST_REQUIRE(rest.size() == 3u);
    BOOST_TEST(first[0].user_id == "u0");
    BOOST_TEST(first[1].user_id == "u1");
    BOOST_TEST(rest[2].user_id == "u4");
}

BOOST_AUTO_TEST_CASE(a_full_outbox_drops_and_records)
{
    auto w = hook();
    w.max_queue = 2;
    driver d(with_hook(w));
    for (int i = 0; i < 3; ++i) d.send("POST", msgs_path("app1", "u"), text_body("x", "appUser"));
    BOOST_TEST(d.e.take_webhooks(10).size() == 2u);
    auto rec = d.e.snapshot();
    BOOST_TEST(rec.webhooks_queued == 2u);
    BOOST_TEST(rec.webhooks_failed == 1u);
    BOOST_TEST_REQUIRE(rec.webhook_deliveries.size() == 1u);
    BOOST_TEST((rec.webhook_deliveries[0].outcome == mock::webhook_outcome::queue_full));
    BOOST_TEST(rec.webhook_deliveries[0].attempt == 0u);
    BOOST_TEST(rec.webhook_deliveries[0].delivery == 3u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(faults)

BOOST_AUTO_TEST_CASE(duplicate_probability_one_delivers_twice)
{
    auto w = hook();
    w.duplicate_probability = 1;
    driver d(with_hook(w));
    d.send("POST", msgs_path("app1", "u"), text_body("x", "appUser"));
    auto out = d.e.take_webhooks(10);
    BOOST_TEST_REQUIRE(out.size() == 2u);
    BOOST_TEST(!out[0].duplicate);
    BOOST_TEST(out[1].duplicate);
    BOOST_TEST(out[0].body == out[1].body);
    BOOST_TEST(out[0].id != out[1].id);
    BOOST_TEST(d.e.snapshot().webhooks_queued == 2u);
}

BOOST_AUTO_TEST_CASE(probabilities_repeat_with_the_seed)
{
    auto count = [](std::uint64_t seed) {
        auto w = hook();
        w.duplicate_probability = 0.3;
        auto p = with_hook(w);
        p.seed = seed;
        driver d(p);
        std::vector<bool> dup;
        for (int i = 0; i < 200; ++i) d.send("POST", msgs_path("app1", "u"), text_body("x", "appUser"));
        for (auto& x : d.e.take_webhooks(1000)) dup.push_back(x.duplicate);
        return dup;
    };
    const auto a = count(7), b = count(7), c = count(8);
    BOOST_TEST((a == b));
    BOOST_TEST((a != c));
    const auto dups = std::count(a.begin(), a.end(), true);
    BOOST_TEST(dups > 30);  // about 60 of 200
    BOOST_TEST(dups < 90);
}

BOOST_AUTO_TEST_CASE(fail_first_then_fail_probability)
{
    auto w = hook();
    w.fail_first = 2;
    mock::engine e(with_hook(w));
    BOOST_TEST(e.inject_webhook_failure(w));
    BOOST_TEST(e.inject_webhook_failure(w));
    for (int i = 0; i < 50; ++i) BOOST_TEST(!e.inject_webhook_failure(w));
    w.fail_probability = 1;
    BOOST_TEST(e.inject_webhook_failure(w));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(retries)

BOOST_AUTO_TEST_CASE(exponential_intervals_then_give_up)
{
    auto w = hook();  // retry_base 100 ms, 5 retries
    driver d(with_hook(w));
    d.send("POST", msgs_path("app1", "u"), text_body("x", "appUser"));
    auto del = d.e.take_webhooks(1).at(0);
    const std::chrono::milliseconds expected[] = {100ms, 200ms, 400ms, 800ms, 1600ms};
    for (unsigned n = 1; n <= 5; ++n) {
        auto next = d.e.webhook_attempt_done(w, del, attempt(n, mock::webhook_outcome::status, 500));
        BOOST_TEST_REQUIRE(next.has_value(), n);
        BOOST_TEST(next->count() == expected[n - 1].count(), n);
    }
    BOOST_TEST(!d.e.webhook_attempt_done(w, del, attempt(6, mock::webhook_outcome::timeout)).has_value());
    auto rec = d.e.snapshot();
    BOOST_TEST(rec.webhooks_failed == 1u);
    BOOST_TEST(rec.webhooks_delivered == 0u);
    BOOST_TEST_REQUIRE(rec.webhook_deliveries.size() == 6u);
    for (unsigned n = 0; n < 6; ++n) {
        const auto& a = rec.webhook_deliveries[n];
        BOOST_TEST(a.attempt == n + 1);
        BOOST_TEST(a.delivery == del.id);
        BOOST_TEST(a.trigger == "message:appUser");
        BOOST_TEST((a.message_ids == del.message_ids));
        BOOST_TEST(a.retry_in.has_value() == (n < 5));
    }
    BOOST_TEST((rec.webhook_deliveries[5].outcome == mock::webhook_outcome::timeout));
}

BOOST_AUTO_TEST_CASE(what_is_retried)
{
    auto w = hook();
    driver d(with_hook(w));
    d.send("POST", msgs_path("app1", "u"), text_body("x", "appUser"));
    auto del = d.e.take_webhooks(1).at(0);
    using o = mock::webhook_outcome;
    for (unsigned s : {400u, 401u, 403u, 404u, 406u})
        BOOST_TEST(!d.e.webhook_attempt_done(w, del, attempt(1, o::status, s)).has_value(), s);
    for (unsigned s : {200u, 201u, 202u, 204u, 299u})
        BOOST_TEST(!d.e.webhook_attempt_done(w, del, attempt(1, o::status, s)).has_value(), s);
    for (unsigned s : {301u, 302u, 405u, 408u, 409u, 410u, 413u, 429u, 500u, 502u, 503u, 504u})
        BOOST_TEST(d.e.webhook_attempt_done(w, del, attempt(1, o::status, s)).has_value(), s);
    for (auto failure : {o::timeout, o::error, o::injected})
        BOOST_TEST(d.e.webhook_attempt_done(w, del, attempt(1, failure)).has_value());
    auto rec = d.e.snapshot();
    BOOST_TEST((rec.webhook_deliveries[0].outcome == o::rejected));
    BOOST_TEST((rec.webhook_deliveries[5].outcome == o::delivered));
    BOOST_TEST((rec.webhook_deliveries[10].outcome == o::status));
    BOOST_TEST(rec.webhooks_delivered == 5u);
    BOOST_TEST(rec.webhooks_failed == 5u);
    // No retries configured: the first failure is final.
    w.max_retries = 0;
    BOOST_TEST(!d.e.webhook_attempt_done(w, del, attempt(1, o::status, 500)).has_value());
}

BOOST_AUTO_TEST_CASE(intervals_are_capped_at_a_day)
{
    auto w = hook();
    w.retry_base = std::chrono::hours(20);
    w.max_retries = 100;
    driver d(with_hook(w));
    d.send("POST", msgs_path("app1", "u"), text_body("x", "appUser"));
    auto del = d.e.take_webhooks(1).at(0);
    BOOST_TEST(d.e.webhook_attempt_done(w, del, attempt(1, mock::webhook_outcome::error))->count() == 72'000'000);
    BOOST_TEST(d.e.webhook_attempt_done(w, del, attempt(2, mock::webhook_outcome::error))->count() == 86'400'000);
    BOOST_TEST(d.e.webhook_attempt_done(w, del, attempt(90, mock::webhook_outcome::error))->count() == 86'400'000);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(settings)

BOOST_AUTO_TEST_CASE(urls)
{
    auto u = mock::parse_webhook_url("https://example.org/hooks/smooch?x=1");
    BOOST_TEST(u.https);
    BOOST_TEST(u.host == "example.org");
    BOOST_TEST(u.port == 443);
    BOOST_TEST(u.target == "/hooks/smooch?x=1");
    u = mock::parse_webhook_url("http://[::1]:8080");
    BOOST_TEST(!u.https);
    BOOST_TEST(u.host == "::1");
    BOOST_TEST(u.port == 8080);
    BOOST_TEST(u.target == "/");
    BOOST_TEST(mock::parse_webhook_url("http://127.0.0.1").port == 80);
}

BOOST_AUTO_TEST_CASE(bad_settings_name_the_field)
{
    auto expect = [](mock::webhook_params w, std::string_view start) {
        try {
            mock::check_webhook_params(w);
            BOOST_ERROR("accepted, expected " << start);
        } catch (const std::invalid_argument& e) {
            const std::string what = e.what();
            BOOST_TEST(what.rfind(start, 0) == 0, what);
            BOOST_TEST(what.find("pa55word") == std::string::npos, what);  // never the credentials
            BOOST_TEST(what.find(w.secret.empty() ? "\x01" : w.secret) == std::string::npos, what);
        }
    };
    auto w = hook();
    mock::check_webhook_params(w);
    for (const char* url : {"", "ftp://h/x", "127.0.0.1:80", "/relative", "http://", "http://h:0/", "http://h/#frag",
                            "http://user:pa55word@h/"}) {
        w = hook();
        w.target = url;
        expect(w, "webhook.target: ");
    }
    using change = std::function<void(mock::webhook_params&)>;
    const std::vector<std::pair<change, const char*>> rows{
        {[](auto& x) { x.secret = ""; }, "webhook.secret: "},
        {[](auto& x) { x.secret = "a\r\nX-Evil: 1"; }, "webhook.secret: "},
        {[](auto& x) { x.triggers.clear(); }, "webhook.triggers: "},
        {[](auto& x) {
             x.triggers = {"message", "message:appuser"};
         },
         "webhook.triggers: unknown trigger 'message:appuser'"},
        {[](auto& x) { x.attempt_timeout = 0ms; }, "webhook.attempt_timeout: "},
        {[](auto& x) { x.retry_base = std::chrono::hours(25); }, "webhook.retry_base: "},
        {[](auto& x) { x.max_retries = 101; }, "webhook.max_retries: "},
        {[](auto& x) { x.duplicate_probability = 1.5; }, "webhook.duplicate_probability: "},
        {[](auto& x) { x.fail_probability = -0.1; }, "webhook.fail_probability: "},
        {[](auto& x) { x.max_in_flight = 0; }, "webhook.max_in_flight: "},
        {[](auto& x) { x.max_queue = 0; }, "webhook.max_queue: "},
        {[](auto& x) { x.ca_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"; },
         "webhook.ca_pem: "},
    };
    for (auto& [apply, start] : rows) {
        w = hook();
        apply(w);
        expect(w, start);
    }
    // The same checks guard the engine's constructor and set_webhook().
    w = hook();
    w.secret = "";
    BOOST_CHECK_THROW(mock::engine(with_hook(w)), std::invalid_argument);
    mock::engine e(keyed_params());
    BOOST_CHECK_THROW(e.set_webhook(w), std::invalid_argument);
    BOOST_TEST(e.webhook() == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(admin_and_record)

BOOST_AUTO_TEST_CASE(the_admin_endpoint_sets_shows_and_clears)
{
    auto p = keyed_params();
    p.admin = true;
    driver d(p);
    auto r = d.send("GET", "/_admin/webhook");
    BOOST_TEST(r.body == R"({"webhook":null})");
    r = d.send("POST", "/_admin/webhook",
               R"({"target":"http://127.0.0.1:9/h","secret":"t0p-secret","triggers":["message:appUser"],
                   "retry_base_ms":5,"max_retries":2,"duplicate_probability":0.25,"fail_first":3})");
    BOOST_TEST_REQUIRE(r.status == 200u, r.body);
    BOOST_TEST(r.body.find("t0p-secret") == std::string::npos, r.body);  // never shown
    auto shown = body_of(d.send("GET", "/_admin/webhook")).at("webhook").as_object();
    BOOST_TEST(shown.at("target").as_string() == "http://127.0.0.1:9/h");
    BOOST_TEST(shown.at("retry_base_ms").as_int64() == 5);
    BOOST_TEST(shown.at("max_retries").as_int64() == 2);
    BOOST_TEST(shown.at("duplicate_probability").to_number<double>() == 0.25);
    BOOST_TEST(shown.at("fail_first").as_int64() == 3);
    BOOST_TEST(!shown.contains("secret"));
    BOOST_TEST(d.e.webhook()->secret == "t0p-secret");
    BOOST_TEST((d.e.webhook()->triggers == std::vector<std::string>{"message:appUser"}));

    check_error(d.send("POST", "/_admin/webhook", R"({"target":"http://h/","secret":"s","retries":1})"), 400,
                "bad_request", "unknown key 'retries'");
    check_error(d.send("POST", "/_admin/webhook", R"({"target":"http://h/","secret":"s","max_retries":-1})"), 400,
                "bad_request", "max_retries: expected a non-negative integer");
    check_error(d.send("POST", "/_admin/webhook", R"({"target":"gopher://h/","secret":"s"})"), 400, "bad_request",
                "webhook.target: the scheme must be http or https, got 'gopher'");
    check_error(d.send("POST", "/_admin/webhook", "[]"), 400, "bad_request", "body must be a JSON object");
    BOOST_TEST(d.e.webhook()->secret == "t0p-secret");  // a bad request changes nothing
    auto wrong = d.send("PUT", "/_admin/webhook");
    BOOST_TEST(wrong.status == 405u);
    BOOST_TEST(wrong.allow == "GET, POST, DELETE");

    r = d.send("DELETE", "/_admin/webhook");
    BOOST_TEST(r.body == R"({"webhook":null})");
    BOOST_TEST(d.e.webhook() == nullptr);
}

BOOST_AUTO_TEST_CASE(the_record_shows_attempts_but_never_the_secret)
{
    driver d(with_hook());
    d.send("POST", msgs_path("app1", "u"), text_body("x", "appUser"));
    auto del = d.e.take_webhooks(1).at(0);
    auto a = attempt(1, mock::webhook_outcome::status, 503);
    a.answer_time = std::chrono::microseconds(250);
    d.e.webhook_attempt_done(*d.e.webhook(), del, a);
    a = attempt(2, mock::webhook_outcome::status, 200);
    d.e.webhook_attempt_done(*d.e.webhook(), del, a);
    const std::string j = mock::to_json(d.e.snapshot());
    BOOST_TEST(j.find("hook-secret") == std::string::npos);
    auto o = json::parse(j).as_object();
    BOOST_TEST(o.at("webhooks_queued").as_int64() == 1);
    BOOST_TEST(o.at("webhooks_delivered").as_int64() == 1);
    auto& list = o.at("webhook_deliveries").as_array();
    BOOST_TEST_REQUIRE(list.size() == 2u);
    BOOST_TEST(list[0].at("outcome").as_string() == "status");
    BOOST_TEST(list[0].at("status").as_int64() == 503);
    BOOST_TEST(list[0].at("answer_us").as_int64() == 250);
    BOOST_TEST(list[0].at("retry_in_ms").as_int64() == 100);
    BOOST_TEST(list[1].at("outcome").as_string() == "delivered");
    BOOST_TEST(list[1].at("retry_in_ms").is_null());
    BOOST_TEST(list[1].at("message_ids").as_array().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE client_ops
#include <boost/test/unit_test.hpp>

#include "fixture.hpp"

#include <smooch/json.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <functional>
#include <set>
#include <utility>

using namespace smooch;
using namespace smooch::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

BOOST_AUTO_TEST_CASE(a_prepared_body_is_posted_as_it_is_to_many_users)
{
    mock_env env;
    auto c = env.make_client();
    diagnostics prep;
    const auto body = prepared_message_post::prepare(text_message("to all"), prep);
    BOOST_REQUIRE(body.has_value());
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        for (const char* user : {"u1", "u2", "u3"}) {
            auto r = co_await api.post_message("app_1", user, *body);
            BOOST_REQUIRE(r.message);
            BOOST_TEST(r.message->text.value() == "to all");
        }
        diagnostics diag;
        auto [ec, r] = co_await api.async_post_message("app_1", "", *body, diag, asio::as_tuple(asio::use_awaitable));
        BOOST_TEST((ec == client_errc::invalid_request));  // the ids are still checked
        BOOST_TEST(diag.message == "user_id: must not be empty");
        auto page = co_await api.get_messages("app_1", "u2");
        BOOST_REQUIRE(page.messages);
        BOOST_TEST(page.messages->size() == 1u);
        BOOST_TEST(page.messages->at(0).text.value() == "to all");
    });
    BOOST_TEST(env.server->record().operation_count("post_message") == 3u);
}

BOOST_AUTO_TEST_CASE(every_operation_succeeds)
{
    mock_env env;
    auto c = env.make_client();
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        auto r = co_await api.post_message("app_1", "user_1", text_message("hello"));
        BOOST_REQUIRE(r.message);
        BOOST_TEST(r.message->text.value() == "hello");
        BOOST_TEST(r.message->id->size() == 24u);
        BOOST_REQUIRE(r.conversation);
        co_await api.post_message("app_1", "user_1", text_message("second"));

        auto page = co_await api.get_messages("app_1", "user_1");
        BOOST_REQUIRE(page.messages);
        BOOST_TEST(page.messages->size() == 2u);
        BOOST_TEST(page.messages->at(0).text.value() == "hello");
        BOOST_TEST(!page.has_next());
        BOOST_TEST(!page.has_previous());

        // Named, not a braced temporary inside co_await: g++ 12 destroys such temporaries twice.
        const conversation_activity typing{.role = role::app_maker, .type = activity_type::typing_start};
        auto act = co_await api.conversation_activity("app_1", "user_1", typing);
        BOOST_TEST(act.conversation.has_value());

        auto read = co_await api.reset_unread_count("app_1", "user_1");
        BOOST_TEST(read.status == 200u);

        auto del = co_await api.delete_message("app_1", "user_1", *r.message->id);
        BOOST_TEST(del.status == 200u);
        page = co_await api.get_messages("app_1", "user_1");
        BOOST_TEST(page.messages->size() == 1u);

        co_await api.delete_messages("app_1", "user_1");
        page = co_await api.get_messages("app_1", "user_1");
        BOOST_TEST(page.messages.value_or(std::vector<message>{}).empty());
    });
    auto rec = env.server->record();
    BOOST_TEST(rec.operation_count("post_message") == 2u);
    BOOST_TEST(rec.operation_count("delete_message") == 1u);
    BOOST_TEST(rec.operation_count("delete_messages") == 1u);
    BOOST_TEST(rec.operation_count("conversation_activity") == 1u);
    BOOST_TEST(rec.operation_count("reset_unread_count") == 1u);
    BOOST_TEST(c->counters().connections_opened == 1u);  // keep-alive reuse across all calls
    BOOST_TEST(c->counters().connections_reused >= 8u);
}

BOOST_AUTO_TEST_CASE(documented_errors_carry_status_and_api_body)
{
    mock_env env;
    auto good = env.make_client();
    auto bad_secret = env.make_client([](client_params& p) { p.credentials = basic_auth{"act_key", "wrong"}; });
    auto none = env.make_client([](client_params& p) { p.credentials = std::monostate{}; });
    auto app_key = env.make_client([](client_params& p) { p.credentials = basic_auth{"app_key", "app_secret"}; });
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*good};
        // 404: no conversation yet.
        auto o = co_await try_get_messages(api, "app_1", "nobody");
        BOOST_TEST((o.ec == make_http_error(404)));
        BOOST_TEST(o.diag.status == 404u);
        BOOST_TEST(!o.diag.api_code.empty());
        BOOST_TEST((o.diag.stop_reason == stop_reason::permanent_error));
        BOOST_TEST(o.diag.attempts.size() == 1u);  // a 4xx is never retried
        auto d = co_await try_delete_message(api, "app_1", "nobody", "0123456789abcdef01234567");
        BOOST_TEST((d.ec == make_http_error(404)));

        // 401 without and with wrong credentials; the secret never appears in the error.
        auto u = co_await try_post_message(conversation_api{*none}, "app_1", "u", text_message("x"));
        BOOST_TEST((u.ec == make_http_error(401)));
        BOOST_TEST(u.diag.api_code == "unauthorized");
        BOOST_TEST(!u.diag.outcome_unknown);  // a 401 means it was not applied
        auto w = co_await try_post_message(conversation_api{*bad_secret}, "app_1", "u", text_message("x"));
        BOOST_TEST((w.ec == make_http_error(401)));
        BOOST_TEST(w.diag.api_code == "invalid_auth");
        BOOST_TEST(describe(w.ec, w.diag).find("wrong") == std::string::npos);

        // 403: an app key used for another app.
        auto f = co_await try_post_message(conversation_api{*app_key}, "app_2", "u", text_message("x"));
        BOOST_TEST((f.ec == make_http_error(403)));

        // 413: a body over the server's 100 KB limit (valid for the client).
        auto big = co_await try_post_message(api, "app_1", "u", text_message(std::string(200 * 1024, 'x')));
        BOOST_TEST((big.ec == make_http_error(413)), describe(big.ec, big.diag));

        // The throwing form throws smooch::error with the same diagnostics.
        bool threw = false;
        try {
            co_await api.get_messages("app_1", "nobody");
        } catch (const smooch::error& e) {
            threw = true;
            BOOST_TEST(e.status() == 404u);
            BOOST_TEST(std::string(e.what()).find("get_messages") != std::string::npos);
        }
        BOOST_TEST(threw);
    });
}

BOOST_AUTO_TEST_CASE(documented_errors_on_activity_read_and_delete_messages)
{
    // 401, 403, 404, 400 and 413 on the three operations that post_message/get_messages tests do not cover:
    // each comes back with its status and the API's error body, is never retried and is never "unknown".
    mock_env env;
    auto good = env.make_client();
    auto none = env.make_client([](client_params& p) { p.credentials = std::monostate{}; });
    auto bad_secret = env.make_client([](client_params& p) { p.credentials = basic_auth{"act_key", "wrong"}; });
    auto app_key = env.make_client([](client_params& p) { p.credentials = basic_auth{"app_key", "app_secret"}; });
    const conversation_activity typing{.role = role::app_maker, .type = activity_type::typing_start};
    const conversation_activity huge{
        .role = role::app_maker, .type = activity_type::typing_start, .name = std::string(200 * 1024, 'n')};
    using call = std::function<asio::awaitable<std::pair<error_code, diagnostics>>(client&, std::string, std::string)>;
    auto pair_of = [](auto o) { return std::pair{o.ec, o.diag}; };
    const std::vector<std::pair<std::string, call>> ops = {
        {"conversation_activity",
         [&](client& c, std::string app, std::string user) -> asio::awaitable<std::pair<error_code, diagnostics>> {
             co_return pair_of(co_await try_conversation_activity(conversation_api{c}, app, user, typing));
         }},
        {"reset_unread_count",
         [&](client& c, std::string app, std::string user) -> asio::awaitable<std::pair<error_code, diagnostics>> {
             co_return pair_of(co_await try_reset_unread_count(conversation_api{c}, app, user));
         }},
        {"delete_messages",
         [&](client& c, std::string app, std::string user) -> asio::awaitable<std::pair<error_code, diagnostics>> {
             co_return pair_of(co_await try_delete_messages(conversation_api{c}, app, user));
         }},
    };
    env.run([&]() -> asio::awaitable<void> {
        co_await conversation_api{*good}.post_message("app_1", "has_conv", text_message("x"));
        auto check = [](const std::pair<error_code, diagnostics>& r, unsigned status, std::string_view api_code,
                        const std::string& what) {
            BOOST_TEST((r.first == make_http_error(status)), what << ": " << describe(r.first, r.second));
            BOOST_TEST(r.second.status == status, what);
            if (!api_code.empty()) BOOST_TEST(r.second.api_code == api_code, what);
            BOOST_TEST(!r.second.api_code.empty(), what);
            BOOST_TEST((r.second.stop_reason == stop_reason::permanent_error), what);
            BOOST_TEST(r.second.attempts.size() == 1u, what);  // a 4xx is never retried
            BOOST_TEST(!r.second.outcome_unknown, what);
        };
        for (const auto& [name, op] : ops) {
            // 404: no conversation for that user.
            check(co_await op(*good, "app_1", "nobody"), 404, "conversation_not_found", name + " 404");
            // 401: no credentials, wrong secret (which never shows up in the error).
            check(co_await op(*none, "app_1", "has_conv"), 401, "unauthorized", name + " 401 none");
            auto w = co_await op(*bad_secret, "app_1", "has_conv");
            check(w, 401, "invalid_auth", name + " 401 wrong");
            BOOST_TEST(describe(w.first, w.second).find("wrong") == std::string::npos);
            // 403: an app key used for another app.
            check(co_await op(*app_key, "app_2", "has_conv"), 403, "forbidden", name + " 403");
            // 400 and 413 answered by the server (injected in front of the API where the client cannot send
            // a request the server would reject).
            env.server->add_fault(mock::parse_fault("status=400,count=1,route=" + name));
            check(co_await op(*good, "app_1", "has_conv"), 400, "", name + " 400");
            if (name != "conversation_activity") {
                env.server->add_fault(mock::parse_fault("status=413,count=1,route=" + name));
                check(co_await op(*good, "app_1", "has_conv"), 413, "", name + " 413");
            }
        }
        // A real 413 on conversation_activity: a body over the server's 100 KB limit (valid for the client).
        auto big = co_await try_conversation_activity(conversation_api{*good}, "app_1", "has_conv", huge);
        check(pair_of(big), 413, "request_entity_too_large", "conversation_activity 413");
    });
    auto rec = env.server->record();
    BOOST_TEST(rec.operation_count("conversation_activity") == 0u);
    BOOST_TEST(rec.operation_count("reset_unread_count") == 0u);
    BOOST_TEST(rec.operation_count("delete_messages") == 0u);
    BOOST_TEST(rec.find("app_1", "has_conv")->messages.size() == 1u);
}

BOOST_AUTO_TEST_CASE(server_400_for_what_the_client_lets_through)
{
    // The client validates what the docs are sure of; the server's 400 still comes back as an error.
    mock_env env;
    auto c = env.make_client();
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        message_post m = text_message("x");
        m.type = "noSuchType";  // open enum: accepted by the client, rejected by the server
        auto o = co_await try_post_message(api, "app_1", "u", m);
        BOOST_TEST((o.ec == make_http_error(400)));
        BOOST_TEST(o.diag.api_description.size() > 0u);
    });
}

BOOST_AUTO_TEST_CASE(invalid_requests_fail_before_sending)
{
    mock_env env;
    auto c = env.make_client();
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        message_post m;
        m.type = message_type::image;  // no mediaUrl
        auto o = co_await try_post_message(api, "app_1", "u", m);
        BOOST_TEST((o.ec == client_errc::invalid_request));
        BOOST_TEST(o.diag.message.find("mediaUrl") != std::string::npos);
        auto e = co_await try_post_message(api, "", "u", text_message("x"));
        BOOST_TEST((e.ec == client_errc::invalid_request));
        BOOST_TEST(e.diag.message.find("app_id") != std::string::npos);
        const get_messages_query both{.before = "1", .after = "2"};
        auto q = co_await try_get_messages(api, "app_1", "u", both);
        BOOST_TEST((q.ec == client_errc::invalid_request));
        message_post latin1 = text_message("caf\xe9");  // Latin-1 bytes: the server would answer 400
        latin1.metadata = json_object{{"ok", "caf\xc3\xa9"}};
        auto u = co_await try_post_message(api, "app_1", "u", latin1);
        BOOST_TEST((u.ec == client_errc::invalid_request));
        BOOST_TEST(u.diag.message == "text: not valid UTF-8 (JSON text must be UTF-8)", u.diag.message);
        conversation_activity typing{.type = activity_type::typing_start};
        typing.extra = json_object{{"x-\xff", 1}};
        auto t = co_await try_conversation_activity(api, "app_1", "u", typing);
        BOOST_TEST((t.ec == client_errc::invalid_request));
        BOOST_TEST(t.diag.message.find("UTF-8") != std::string::npos, t.diag.message);
    });
    BOOST_TEST(env.server->record().requests_total == 0u);
}

BOOST_AUTO_TEST_CASE(hostile_ids_round_trip_exactly)
{
    mock_env env;
    auto c = env.make_client();
    const std::vector<std::string> ids = {
        "a/b", "what?x=1", "frag#ment",   "100%",         "sp ace",     "cr\r\nX-Injected: 1",
        "..",  ".",        "caf\xc3\xa9", "\xe2\x9c\x93", "+plus&amp=", "steveb@channel5.com"};
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        for (const auto& user : ids) {
            auto r = co_await api.post_message("app 1/" + user, user, text_message("for " + user));
            auto page = co_await api.get_messages("app 1/" + user, user);
            BOOST_REQUIRE(page.messages);
            BOOST_TEST_REQUIRE(page.messages->size() == 1u);
            BOOST_TEST(page.messages->at(0).text.value() == "for " + user);
            co_await api.delete_message("app 1/" + user, user, *r.message->id);
            page = co_await api.get_messages("app 1/" + user, user);
            BOOST_TEST(page.messages.value_or(std::vector<message>{}).empty());
        }
    });
    auto rec = env.server->record();
    for (const auto& user : ids) {
        auto* conv = rec.find("app 1/" + user, user);
        BOOST_TEST_REQUIRE(conv != nullptr, "no conversation for " << user);
        BOOST_TEST(conv->created_ids.size() == 1u);
    }
    BOOST_TEST(rec.conversations.size() == ids.size());  // no id leaked into another path
}

BOOST_AUTO_TEST_CASE(walk_history_visits_every_message_once_in_both_directions)
{
    mock_env env;
    auto c = env.make_client([](client_params& p) { p.pool.max_connections = 4; });
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        for (int i = 0; i < 250; ++i) co_await api.post_message("app_1", "walker", text_message(std::to_string(i)));
        for (auto dir : {walk_direction::oldest_first, walk_direction::newest_first}) {
            std::vector<int> seen;
            auto n = co_await api.walk_history("app_1", "walker", dir,
                                               [&](const message& m) { seen.push_back(std::stoi(*m.text)); });
            BOOST_TEST(n == 250u);
            BOOST_TEST_REQUIRE(seen.size() == 250u);
            for (int i = 0; i < 250; ++i)
                BOOST_TEST(seen[static_cast<std::size_t>(i)] == (dir == walk_direction::oldest_first ? i : 249 - i));
        }
    });
}

BOOST_AUTO_TEST_CASE(tls_verification_failures_say_so)
{
    mock_env env;
    auto other_ca = mock::generate_tls();
    auto wrong_ca = env.make_client([&](client_params& p) { p.tls.ca_pem = other_ca.ca_pem; });
    env.run([&]() -> asio::awaitable<void> {
        auto a = co_await try_get_messages(conversation_api{*wrong_ca}, "app_1", "u");
        BOOST_TEST(a.ec.failed());
        BOOST_TEST(a.diag.message.find("verification failed") != std::string::npos, a.diag.message);
        BOOST_TEST((a.diag.stop_reason == stop_reason::permanent_error));
        BOOST_TEST(a.diag.attempts.size() == 1u);  // never retried
    });
    // A connection whose handshake failed was never usable: not counted opened, and no slot is left taken.
    BOOST_TEST(wrong_ca->counters().connections_opened == 0u);
    BOOST_TEST(wrong_ca->open_connections() == 0u);
}

BOOST_AUTO_TEST_CASE(host_name_mismatch_is_a_verification_error)
{
    mock_env env;
    env.mock_params.tls = mock::generate_tls({"other.example"});  // certificate for another name
    auto c = env.make_client([&](client_params& p) { p.tls.ca_pem = env.mock_params.tls->ca_pem; });
    env.run([&]() -> asio::awaitable<void> {
        auto a = co_await try_get_messages(conversation_api{*c}, "app_1", "u");
        BOOST_TEST(a.ec.failed());
        BOOST_TEST(a.diag.message.find("verification failed") != std::string::npos, a.diag.message);
    });
}

BOOST_AUTO_TEST_CASE(jwt_credentials_are_accepted_by_the_mock)
{
    mock_env env;
    auto app = env.make_client([](client_params& p) {
        p.credentials =
            jwt_credentials{.key_id = "app_key", .secret = "app_secret", .lifetime = std::chrono::seconds(60)};
    });
    auto user = env.make_client([](client_params& p) {
        p.credentials =
            jwt_credentials{.key_id = "app_key", .secret = "app_secret", .scope = jwt_scope::app_user, .user_id = "u1"};
    });
    env.run([&]() -> asio::awaitable<void> {
        co_await conversation_api{*app}.post_message("app_1", "u1", text_message("from app"));
        message_post m = text_message("from user");
        m.role = role::app_user;
        co_await conversation_api{*user}.post_message("app_1", "u1", m);
        auto page = co_await conversation_api{*user}.get_messages("app_1", "u1");
        BOOST_TEST(page.messages->size() == 2u);
        // appUser scope: another user's conversation is forbidden.
        auto f = co_await try_get_messages(conversation_api{*user}, "app_1", "u2");
        BOOST_TEST((f.ec == make_http_error(403)));
    });
}

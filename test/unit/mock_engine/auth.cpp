// SPDX-License-Identifier: BSL-1.0
// Authentication and authorization: Basic, JWT (HS256) and its failures, app keys, appUser scope.

#include "engine_test.hpp"

#include <ctime>
#include <string>
#include <vector>

using namespace mock_engine_test;

namespace {

struct auth_case {
    std::string auth;
    unsigned status;  // 0: accepted (the request gets past auth)
    std::string code, description;
};

/// Sends a GET to app1/u with each case's Authorization: accepted ones reach the operation (404, no
/// conversation); the others get exactly their 401/403. record.unauthorized counts the rejected ones.
void check_cases(const std::vector<auth_case>& cases, const std::string& app = "app1")
{
    driver d;
    std::uint64_t rejected = 0;
    for (auto& c : cases) {
        BOOST_TEST_CONTEXT("Authorization: " << c.auth)
        {
            auto r = d.send("GET", msgs_path(app, "u"), {}, c.auth);
            if (c.status == 0) {
                check_error(r, 404, "conversation_not_found", "No conversation exists for this app user");
            } else {
                check_error(r, c.status, c.code, c.description);
                ++rejected;
            }
        }
    }
    BOOST_TEST(d.e.snapshot().unauthorized == rejected);
}

const std::string invalid_basic = "Invalid basic auth credentials";

}  // namespace

BOOST_AUTO_TEST_SUITE(auth)

BOOST_AUTO_TEST_CASE(basic)
{
    check_cases({
        {acct_basic, 0, "", ""},
        {app1_basic, 0, "", ""},
        {"basic " + base64("acct:acct-secret"), 0, "", ""},  // the scheme is case-insensitive
        {"BASIC " + base64("acct:acct-secret") + "  ", 0, "", ""},
        {"", 401, "unauthorized", "Authorization is required"},
        {"   ", 401, "unauthorized", "Authorization is required"},
        {basic_std("acct", "wrong"), 401, "invalid_auth", invalid_basic},
        {basic_std("acct", ""), 401, "invalid_auth", invalid_basic},
        {basic_std("nobody", "acct-secret"), 401, "invalid_auth", invalid_basic},
        {basic_std("app1key", "acct-secret"), 401, "invalid_auth", invalid_basic},  // another key's secret
        {"Basic " + base64("acct"), 401, "invalid_auth", invalid_basic},            // no colon
        {"Basic !!!", 401, "invalid_auth", invalid_basic},
        {"Basic", 401, "invalid_auth", "Unsupported authorization scheme (use Basic or Bearer)"},
        {"Digest abc", 401, "invalid_auth", "Unsupported authorization scheme (use Basic or Bearer)"},
    });
    // An app key works for its app only; an account key for any.
    check_cases({{app1_basic, 403, "forbidden", "The key does not belong to this app"}, {acct_basic, 0, "", ""}},
                "app2");
}

BOOST_AUTO_TEST_CASE(jwt_tokens)
{
    const auto future = std::to_string(std::time(nullptr) + 3600), past = std::to_string(std::time(nullptr) - 10);
    auto hs256 = [](const std::string& kid, const std::string& payload, const std::string& secret) {
        return bearer(kid, payload, secret);
    };
    auto raw = [](const std::string& header, const std::string& payload, const std::string& secret) {
        return "Bearer " + jwt(header, payload, secret);
    };
    const std::string body = "Invalid JWT body. ";
    check_cases({
        {hs256("app1key", R"({"scope":"app"})", "app1-secret"), 0, "", ""},
        {hs256("acct", R"({"scope":"account"})", "acct-secret"), 0, "", ""},
        {hs256("acct", R"({"scope":"app"})", "acct-secret"), 0, "", ""},  // Choice: app scope, account key
        {hs256("app1key", R"({"scope":"app","exp":)" + future + "}", "app1-secret"), 0, "", ""},
        {"bearer " + jwt(R"({"alg":"HS256","kid":"acct"})", R"({"scope":"account"})", "acct-secret"), 0, "", ""},
        {hs256("app1key", R"({"scope":"app","exp":)" + past + "}", "app1-secret"), 401, "invalid_auth",
         body + "Token expired (exp)"},
        {hs256("app1key", R"({"scope":"app","exp":"soon"})", "app1-secret"), 401, "invalid_auth",
         body + "exp must be a number"},
        {hs256("app1key", R"({"scope":"app"})", "wrong"), 401, "invalid_auth", "Invalid JWT signature"},
        {hs256("app1key", R"({"scope":"app"})", "acct-secret"), 401, "invalid_auth", "Invalid JWT signature"},
        {raw(R"({"alg":"none","kid":"acct"})", R"({"scope":"app"})", "acct-secret"), 401, "invalid_auth",
         "Invalid JWT header. Unsupported algorithm (alg must be HS256)"},
        {raw(R"({"alg":"HS512","kid":"acct"})", R"({"scope":"app"})", "acct-secret"), 401, "invalid_auth",
         "Invalid JWT header. Unsupported algorithm (alg must be HS256)"},
        {raw(R"({"kid":"acct"})", R"({"scope":"app"})", "acct-secret"), 401, "invalid_auth",
         "Invalid JWT header. Unsupported algorithm (alg must be HS256)"},
        {raw(R"({"alg":"HS256"})", R"({"scope":"app"})", "acct-secret"), 401, "invalid_auth",
         "Invalid JWT header. Missing key id (kid)"},
        {raw(R"({"alg":"HS256","kid":7})", R"({"scope":"app"})", "acct-secret"), 401, "invalid_auth",
         "Invalid JWT header. Missing key id (kid)"},
        {hs256("nobody", R"({"scope":"app"})", "acct-secret"), 401, "invalid_auth",
         "Invalid JWT header. Unknown key id (kid)"},
        {hs256("app1key", R"({"scope":"account"})", "app1-secret"), 401, "invalid_auth",
         body + "Cannot use account scope with app secret key"},
        {hs256("acct", R"({"scope":"admin"})", "acct-secret"), 401, "invalid_auth", body + "Missing or unknown scope"},
        {hs256("acct", R"({})", "acct-secret"), 401, "invalid_auth", body + "Missing or unknown scope"},
        {hs256("acct", R"({"scope":"appUser"})", "acct-secret"), 401, "invalid_auth",
         body + "appUser scope needs a string userId"},
        {"Bearer a.b", 401, "invalid_auth", "Invalid JWT. Expected three dot-separated parts"},
        {"Bearer a.b.c.d", 401, "invalid_auth", "Invalid JWT. Expected three dot-separated parts"},
        {"Bearer " + b64url("[1]") + "." + b64url("{}") + ".x", 401, "invalid_auth",
         "Invalid JWT. Header and body must be base64url JSON objects"},
        {"Bearer " + b64url(R"({"alg":"HS256","kid":"acct"})") + ".!!.x", 401, "invalid_auth",
         "Invalid JWT. Header and body must be base64url JSON objects"},
    });
    check_cases({{hs256("app1key", R"({"scope":"app"})", "app1-secret"), 403, "forbidden",
                  "The key does not belong to this app"}},
                "app2");
}

// An appUser token: its own conversation only, and only get_messages, post_message (role appUser) and
// reset_unread_count.
BOOST_AUTO_TEST_CASE(app_user_scope)
{
    driver d;
    const auto alice = bearer("app1key", R"({"scope":"appUser","userId":"alice"})", "app1-secret");
    const std::string base = "/v1.1/apps/app1/appusers/alice";
    check_error(d.send("GET", base + "/messages", {}, alice), 404, "conversation_not_found",
                "No conversation exists for this app user");
    BOOST_TEST(d.send("POST", base + "/messages", text_body("hi", "appUser"), alice).status == 201u);
    BOOST_TEST(d.send("GET", base + "/messages", {}, alice).status == 200u);
    BOOST_TEST(d.send("POST", base + "/conversation/read", {}, alice).status == 200u);
    const std::string role_only = "appUser scope can only post messages with role appUser";
    check_error(d.send("POST", base + "/messages", text_body("hi", "appMaker"), alice), 403, "forbidden", role_only);
    check_error(d.send("POST", base + "/messages", text_body("hi", "whisper"), alice), 403, "forbidden", role_only);
    const std::string not_this_op = "appUser scope cannot call this operation";
    check_error(d.send("DELETE", base + "/messages", {}, alice), 403, "forbidden", not_this_op);
    check_error(d.send("DELETE", base + "/messages/0123456789abcdef01234567", {}, alice), 403, "forbidden",
                not_this_op);
    check_error(d.send("POST", base + "/conversation/activity", R"({"role":"appMaker","type":"typing:start"})", alice),
                403, "forbidden", not_this_op);
    check_error(d.send("GET", "/v1.1/apps/app1/appusers/bob/messages", {}, alice), 403, "forbidden",
                "appUser scope only grants access to its own userId");
    check_error(d.send("GET", "/v1.1/apps/app2/appusers/alice/messages", {}, alice), 403, "forbidden",
                "The key does not belong to this app");
    auto rec = d.e.snapshot();
    BOOST_TEST(rec.unauthorized == 7u);
    BOOST_TEST(rec.find("app1", "alice")->texts() == std::vector<std::string>{"hi"});
}

// The role check of appUser tokens is authorization: a 403 that takes no rate-limit token, whatever else is
// wrong with the body. What is wrong with the body itself is validation, after the rate limit.
BOOST_AUTO_TEST_CASE(app_user_role_is_checked_before_the_rate_limit)
{
    auto p = keyed_params();
    p.rate = mock::rate_limit{0.01, 2};
    driver d(p);
    const auto alice = bearer("app1key", R"({"scope":"appUser","userId":"alice"})", "app1-secret");
    const auto path = msgs_path("app1", "alice");
    const std::string role_only = "appUser scope can only post messages with role appUser";
    for (auto b : {R"({"role":"appMaker","type":"nonsense"})", R"({"role":"appMaker","n":1e999})"})
        check_error(d.send("POST", path, b, alice), 403, "forbidden", role_only);
    check_error(d.send("POST", path, R"({"type":"text","text":"a"})", alice), 400, "bad_request",
                "role is required");  // takes the first token
    check_error(d.send("POST", path, "{", alice), 400, "bad_request",
                "Malformed JSON body: incomplete JSON");  // the second
    check_error(d.send("POST", path, text_body("hi", "appUser"), alice), 429, "too_many_requests",
                "Rate limit exceeded for this app");
    check_error(d.send("POST", path, text_body("hi", "appMaker"), alice), 403, "forbidden", role_only);
    auto rec = d.e.snapshot();
    BOOST_TEST(rec.unauthorized == 3u);
    BOOST_TEST(rec.rate_limited == 1u);
}

// The short form /v1.1/appusers/{userId}/... (docs/api-facts.md#short-paths): the app is the one the credential's
// key belongs to, for app scope (Basic app key, app JWT) and appUser scope (what smooch-core 8.11.4 sends). An
// account-scoped credential names no app: 400, no state change, no token taken.
BOOST_AUTO_TEST_CASE(short_paths_take_the_app_of_the_key)
{
    auto p = keyed_params();
    p.rate = mock::rate_limit{100, 100};
    driver d(p);
    const auto app_jwt = bearer("app1key", R"({"scope":"app"})", "app1-secret");
    const auto alice = bearer("app1key", R"({"scope":"appUser","userId":"alice"})", "app1-secret");
    BOOST_TEST(d.send("POST", "/v1.1/appusers/bob/messages", text_body("one"), app1_basic).status == 201u);
    BOOST_TEST(d.send("POST", "/v1.1/appusers/bob/messages", text_body("two"), app_jwt).status == 201u);
    auto page = d.send("GET", "/v1.1/appusers/bob/messages", {}, app_jwt);
    BOOST_TEST(page.status == 200u);
    BOOST_TEST(body_of(page).at("messages").as_array().size() == 2u);
    BOOST_TEST(d.send("POST", "/v1.1/appusers/bob/conversation/activity",
                      R"({"role":"appMaker","type":"typing:start"})", app1_basic)
                   .status == 200u);
    BOOST_TEST(d.send("POST", "/v1.1/appusers/bob/conversation/read", {}, app1_basic).status == 200u);
    BOOST_TEST(d.send("POST", "/v1.1/appusers/alice/messages", text_body("hey", "appUser"), alice).status == 201u);
    BOOST_TEST(d.send("GET", "/v1.1/appusers/alice/messages", {}, alice).status == 200u);
    check_error(d.send("GET", "/v1.1/appusers/bob/messages", {}, alice), 403, "forbidden",
                "appUser scope only grants access to its own userId");
    const auto id = body_of(d.send("GET", "/v1.1/apps/app1/appusers/bob/messages", {}, acct_basic))
                        .at("messages")
                        .as_array()[0]
                        .as_object()
                        .at("_id")
                        .as_string();
    BOOST_TEST(d.send("DELETE", "/v1.1/appusers/bob/messages/" + std::string(id), {}, app1_basic).status == 200u);
    BOOST_TEST(d.send("DELETE", "/v1.1/appusers/bob/messages", {}, app1_basic).status == 200u);
    // Account scope (Basic account key, account JWT): the short form cannot name an app.
    const std::string which_app =
        "An account-scoped credential must name the app: use /v1.1/apps/{appId}/appusers/{userId}/...";
    check_error(d.send("POST", "/v1.1/appusers/bob/messages", text_body("x"), acct_basic), 400, "bad_request",
                which_app);
    check_error(
        d.send("GET", "/v1.1/appusers/bob/messages", {}, bearer("acct", R"({"scope":"account"})", "acct-secret")), 400,
        "bad_request", which_app);
    // Auth still comes first, and wrong methods and unknown tails are what they are on the long form.
    check_error(d.send("GET", "/v1.1/appusers/bob/messages", {}, ""), 401, "unauthorized", "Authorization is required");
    check_error(d.send("PUT", "/v1.1/appusers/bob/messages", {}, app1_basic), 405, "method_not_allowed",
                "PUT is not allowed on this path");
    check_error(d.send("GET", "/v1.1/appusers/bob", {}, app1_basic), 404, "not_found", "No such route");
    check_error(d.send("GET", "/v1.1/appusers//messages", {}, app1_basic), 404, "not_found", "No such route");
    auto rec = d.e.snapshot();
    BOOST_TEST(rec.find("app1", "bob")->created_ids.size() == 2u);
    BOOST_TEST(rec.find("app1", "alice")->texts() == std::vector<std::string>{"hey"});
    BOOST_TEST(rec.conversations.size() == 2u);    // nothing stored under an empty app id
    BOOST_TEST(rec.requests[0].app_id == "app1");  // the record has the app the key implied
    BOOST_TEST(rec.requests[0].route == "post_message");
    // No keys (auth off): every request acts with account scope, so the short form is a 400 there too.
    driver open(mock::server_params{});
    check_error(open.send("GET", "/v1.1/appusers/bob/messages", {}, ""), 400, "bad_request", which_app);
}

BOOST_AUTO_TEST_CASE(no_keys_means_account_scope_for_all)
{
    driver d(mock::server_params{});
    for (auto auth : {std::string(), std::string("Basic Og=="), std::string("Digest x"), app1_basic})
        BOOST_TEST(d.post("any", "u", "x", auth).status == 201u, auth);
    BOOST_TEST(d.e.snapshot().unauthorized == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

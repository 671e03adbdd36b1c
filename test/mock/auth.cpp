// SPDX-License-Identifier: BSL-1.0
// smooch-mock over the wire: Basic and JWT authentication, appUser scope, the order of auth and rate limit.

#include "wire.hpp"

#include <ctime>
#include <string>
#include <vector>

using namespace mock_test;

BOOST_AUTO_TEST_SUITE(auth)

BOOST_AUTO_TEST_CASE(basic_auth, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    auto path = msgs_path("app1", "u");
    check_error(c.request(http::verb::get, path, {}, ""), 401, "unauthorized");
    check_error(c.request(http::verb::get, path, {}, basic_std("acct", "wrong")), 401, "invalid_auth");
    check_error(c.request(http::verb::get, path, {}, basic_std("nobody", "acct-secret")), 401, "invalid_auth");
    check_error(c.request(http::verb::get, path, {}, "Basic !!!"), 401, "invalid_auth");
    check_error(c.request(http::verb::get, path, {}, "Digest abc"), 401, "invalid_auth");
    BOOST_TEST(c.request(http::verb::post, path, text_msg("a"), basic_std("app1key", "app1-secret")).result_int() ==
               201u);
    // An app key only works for its app.
    check_error(c.request(http::verb::post, msgs_path("app2", "u"), text_msg("a"), basic_std("app1key", "app1-secret")),
                403, "forbidden");
    BOOST_TEST(c.request(http::verb::post, msgs_path("app2", "u"), text_msg("a")).result_int() == 201u);
    BOOST_TEST(f.srv->record().unauthorized == 6u);
}

BOOST_AUTO_TEST_CASE(jwt_auth, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    auto path = msgs_path("app1", "u");
    auto app_tok = bearer("app1key", R"({"scope":"app"})", "app1-secret");
    BOOST_TEST(c.request(http::verb::post, path, text_msg("a"), app_tok).result_int() == 201u);
    BOOST_TEST(
        c.request(http::verb::get, path, {}, bearer("acct", R"({"scope":"account"})", "acct-secret")).result_int() ==
        200u);
    auto future = std::to_string(std::time(nullptr) + 3600), past = std::to_string(std::time(nullptr) - 10);
    BOOST_TEST(c.request(http::verb::get, path, {},
                         bearer("app1key", R"({"scope":"app","exp":)" + future + "}", "app1-secret"))
                   .result_int() == 200u);
    check_error(
        c.request(http::verb::get, path, {}, bearer("app1key", R"({"scope":"app","exp":)" + past + "}", "app1-secret")),
        401, "invalid_auth", "expired");
    check_error(c.request(http::verb::get, path, {}, bearer("app1key", R"({"scope":"app"})", "wrong")), 401,
                "invalid_auth", "signature");
    check_error(c.request(http::verb::get, path, {},
                          "Bearer " + jwt(R"({"alg":"HS256","typ":"JWT"})", R"({"scope":"app"})", "app1-secret")),
                401, "invalid_auth", "Missing key id (kid)");
    check_error(
        c.request(http::verb::get, path, {},
                  "Bearer " + b64url(R"({"alg":"none","kid":"app1key"})") + "." + b64url(R"({"scope":"app"})") + "."),
        401, "invalid_auth", "alg");
    check_error(c.request(http::verb::get, path, {},
                          "Bearer " + jwt(R"({"alg":"HS512","kid":"app1key"})", R"({"scope":"app"})", "app1-secret")),
                401, "invalid_auth", "alg");
    check_error(c.request(http::verb::get, path, {}, bearer("unknown", R"({"scope":"app"})", "x")), 401, "invalid_auth",
                "kid");
    check_error(c.request(http::verb::get, path, {}, bearer("app1key", R"({"scope":"account"})", "app1-secret")), 401,
                "invalid_auth", "account scope");
    check_error(c.request(http::verb::get, path, {}, bearer("app1key", R"({"scope":"admin"})", "app1-secret")), 401,
                "invalid_auth", "scope");
    check_error(c.request(http::verb::get, path, {}, "Bearer not.a.jwt"), 401, "invalid_auth");
    check_error(c.request(http::verb::get, path, {}, "Bearer garbage"), 401, "invalid_auth");
    check_error(c.request(http::verb::get, msgs_path("app2", "u"), {}, app_tok), 403, "forbidden");
}

BOOST_AUTO_TEST_CASE(app_user_scope, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    post(c, "app1", "alice", "hello");
    post(c, "app1", "bob", "hello");
    auto tok = bearer("app1key", R"({"scope":"appUser","userId":"alice"})", "app1-secret");
    auto base = std::string("/v1.1/apps/app1/appusers/alice");
    BOOST_TEST(c.request(http::verb::get, base + "/messages", {}, tok).result_int() == 200u);
    BOOST_TEST(c.request(http::verb::post, base + "/messages", text_msg("hi", "appUser"), tok).result_int() == 201u);
    BOOST_TEST(c.request(http::verb::post, base + "/conversation/read", {}, tok).result_int() == 200u);
    check_error(c.request(http::verb::post, base + "/messages", text_msg("hi", "appMaker"), tok), 403, "forbidden");
    check_error(c.request(http::verb::delete_, base + "/messages", {}, tok), 403, "forbidden");
    check_error(c.request(http::verb::delete_, base + "/messages/0123456789abcdef01234567", {}, tok), 403, "forbidden");
    check_error(c.request(http::verb::post, base + "/conversation/activity",
                          R"({"role":"appMaker","type":"typing:start"})", tok),
                403, "forbidden");
    check_error(c.request(http::verb::get, "/v1.1/apps/app1/appusers/bob/messages", {}, tok), 403, "forbidden");
    check_error(c.request(http::verb::get, base + "/messages", {},
                          bearer("app1key", R"({"scope":"appUser","userId":7})", "app1-secret")),
                401, "invalid_auth", "userId");
    BOOST_TEST(f.srv->record().find("app1", "alice")->messages.size() == 2u);
}

// Order of checks: auth (401/403) before the rate limit and validation. An appUser token posting as appMaker is
// a 403 that takes no token, whatever else is wrong with the body.
BOOST_AUTO_TEST_CASE(app_user_role_403_before_rate_limit, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.rate = mock::rate_limit{0.01, 1};  // one token; refill negligible during the test
    server_fixture f(p);
    client c(f.srv->port());
    auto tok = bearer("app1key", R"({"scope":"appUser","userId":"alice"})", "app1-secret");
    auto path = msgs_path("app1", "alice");
    check_error(c.request(http::verb::post, path, text_msg("hi", "appMaker"), tok), 403, "forbidden");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","type":"nonsense"})", tok), 403, "forbidden");
    check_error(c.request(http::verb::post, path, R"({"role":"whisper","type":"text","text":"a"})", tok), 403,
                "forbidden");
    BOOST_TEST(c.request(http::verb::post, path, text_msg("hi", "appUser"), tok).result_int() == 201u);  // the token
    check_error(c.request(http::verb::post, path, text_msg("hi", "appUser"), tok), 429, "too_many_requests");
    check_error(c.request(http::verb::post, path, text_msg("hi", "appMaker"), tok), 403, "forbidden");  // still 403
    auto rec = f.srv->record();
    BOOST_TEST(rec.unauthorized == 4u);
    BOOST_TEST(rec.rate_limited == 1u);
    BOOST_REQUIRE(rec.find("app1", "alice"));
    BOOST_TEST(rec.find("app1", "alice")->messages.size() == 1u);
}

// The short paths over the wire, as the Node SDK sends them (docs/api-facts.md#short-paths): an app JWT and an
// appUser JWT reach their app without naming it; an account credential gets the 400. Pages link the long form.
BOOST_AUTO_TEST_CASE(short_paths_over_the_wire, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    const auto app_jwt = bearer("app1key", R"({"scope":"app"})", "app1-secret");
    const auto alice = bearer("app1key", R"({"scope":"appUser","userId":"alice"})", "app1-secret");
    BOOST_TEST(c.request(http::verb::post, "/v1.1/appusers/bob/messages", text_msg("hi"), app_jwt).result_int() ==
               201u);
    BOOST_TEST(
        c.request(http::verb::post, "/v1.1/appusers/alice/messages", text_msg("yo", "appUser"), alice).result_int() ==
        201u);
    auto page = c.request(http::verb::get, "/v1.1/appusers/bob/messages", {}, app_jwt);
    BOOST_TEST(page.result_int() == 200u);
    BOOST_TEST(body_of(page).at("messages").as_array().size() == 1u);
    check_error(c.request(http::verb::get, "/v1.1/appusers/bob/messages", {}, basic_std("acct", "acct-secret")), 400,
                "bad_request", "An account-scoped credential must name the app");
    auto rec = f.srv->record();
    BOOST_TEST(rec.find("app1", "bob")->texts() == std::vector<std::string>{"hi"});
    BOOST_TEST(rec.find("app1", "alice")->texts() == std::vector<std::string>{"yo"});
}

BOOST_AUTO_TEST_CASE(no_keys_means_open, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.keys.clear();
    server_fixture f(p);
    client c(f.srv->port());
    BOOST_TEST(c.request(http::verb::post, msgs_path("a", "u"), text_msg("x"), "").result_int() == 201u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("a", "u"), {}, "Basic Og==").result_int() == 200u);
}

BOOST_AUTO_TEST_SUITE_END()

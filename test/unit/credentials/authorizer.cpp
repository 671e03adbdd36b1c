// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE credentials
#include <boost/test/unit_test.hpp>

#include "credentials/authorizer.hpp"
#include "detail/crypto.hpp"

#include <boost/json/parse.hpp>

using namespace smooch;
using namespace smooch::detail;
using namespace std::chrono_literals;

// ------------------------------------------------------------------------------------------- credentials

BOOST_AUTO_TEST_SUITE(credentials)

BOOST_AUTO_TEST_CASE(hs256_matches_published_vectors)
{
    // The jwt.io / RFC 7519-style example token.
    BOOST_TEST(
        hs256_signature("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwi"
                        "aWF0IjoxNTE2MjM5MDIyfQ",
                        "your-256-bit-secret") == "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");
    // RFC 7515 Appendix A.1.
    auto key =
        base64url_decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
    BOOST_REQUIRE(key);
    BOOST_TEST(
        hs256_signature("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQog"
                        "Imh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
                        *key) == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
}

BOOST_AUTO_TEST_CASE(signed_jwt_has_kid_scope_user_and_exp)
{
    jwt_credentials c{
        .key_id = "app_123", .secret = "s3cret", .scope = jwt_scope::app_user, .user_id = "42", .lifetime = 3600s};
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
    BOOST_TEST(a.header(now + 80s) == h1);  // still fresh
    auto h2 = a.header(now + 91s);          // past nine tenths: re-signed
    BOOST_TEST(h2 != h1);
    BOOST_TEST(h2.rfind("Bearer ", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(a_token_signed_late_in_a_second_is_resigned_a_tenth_before_its_exp)
{
    // exp is whole seconds (floor(signing time) + lifetime): the refresh point must come from exp, not from the
    // exact signing time, or a token signed at .9 s reaches servers with a tenth of a second left.
    authorizer a(jwt_credentials{.key_id = "k", .secret = "s", .lifetime = 5s});
    const auto signed_at = std::chrono::system_clock::time_point{} + 1700000000s + 900ms;  // exp = 1700000005
    const auto h1 = a.header(signed_at);
    BOOST_TEST(a.header(signed_at + 3500ms) == h1);  // 1700000004.4: 0.6 s left of 5, keep it
    BOOST_TEST(a.header(signed_at + 3700ms) != h1);  // 1700000004.6: less than half a second left: re-signed
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

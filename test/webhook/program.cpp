// SPDX-License-Identifier: BSL-1.0
// The smooch-mock program's webhook flags, used as a user would: a delivery to a target started with --webhook,
// --help, and every bad value refused with exit 2 and an error naming the flag, never echoing the secret.

#include "support.hpp"
#include "text.hpp"

#include <boost/test/unit_test.hpp>

#ifndef SMOOCH_MOCK_EXE
#error "SMOOCH_MOCK_EXE must name the smooch-mock program"
#endif

using namespace webhook_test;

BOOST_AUTO_TEST_SUITE(mock_program)

BOOST_AUTO_TEST_CASE(delivers_with_the_webhook_flags, *boost::unit_test::timeout(guard))
{
    receiver target;
    child mock(SMOOCH_MOCK_EXE, {"--plain", "--key-id", "acct", "--secret", "acct-secret", "--webhook", target.url(),
                                 "--webhook-secret", "flag-secret", "--webhook-triggers", "message:appUser",
                                 "--webhook-retry-base", "10", "--webhook-duplicate", "1"});
    auto line = mock.line();
    BOOST_TEST_REQUIRE(line.has_value(), mock.err());
    const auto url = listening_url(*line);
    BOOST_TEST_REQUIRE(url.rfind("http://127.0.0.1:", 0) == 0, *line);
    client c(port_of(url), false);
    post(c, "app1", "u", "to the bot", "appUser");
    post(c, "app1", "u", "from the bot", "appMaker");                   // not subscribed
    BOOST_TEST_REQUIRE(wait_for([&] { return target.count() == 2; }));  // duplicated, by --webhook-duplicate 1
    auto got = target.requests();
    BOOST_TEST(got[0].headers.at("x-api-key") == "flag-secret");
    BOOST_TEST(got[0].body == got[1].body);
    BOOST_TEST(got[0].body.find("to the bot") != std::string::npos);
    auto st = mock.stop(SIGTERM);
    BOOST_TEST(exited_0(st), mock.err());
    BOOST_TEST(target.count() == 2u);
    BOOST_TEST(mock.out().find("flag-secret") == std::string::npos);
    BOOST_TEST(mock.err().find("flag-secret") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(help_lists_the_webhook_flags, *boost::unit_test::timeout(guard))
{
    child mock(SMOOCH_MOCK_EXE, {"--help"});
    BOOST_TEST_REQUIRE(exited_0(mock.wait()));
    for (const char* flag :
         {"--webhook URL", "--webhook-secret", "--webhook-triggers", "--webhook-ca", "--webhook-timeout",
          "--webhook-retry-base", "--webhook-retries", "--webhook-duplicate", "--webhook-fail ", "--webhook-fail-first",
          "--webhook-max-in-flight", "--webhook-queue", "/_admin/webhook"})
        BOOST_TEST(mock.out().find(flag) != std::string::npos, flag);
    const std::string out = mock.out();
    const auto wide = smooch::test::lines_wider_than(out);  // fits an 80-column terminal
    BOOST_TEST(wide.empty(), smooch::test::first_of(wide));
}

BOOST_AUTO_TEST_CASE(bad_flags_exit_2_naming_the_flag, *boost::unit_test::timeout(guard))
{
    temp_dir dir;
    const auto not_pem = dir.file("not.pem", "hello");
    struct row {
        std::vector<std::string> args;
        std::string error;
    };
    const std::vector<std::string> ok{"--webhook", "http://127.0.0.1:9/", "--webhook-secret", "SEKRET"};
    auto with = [&](std::vector<std::string> more) {
        auto a = ok;
        a.insert(a.end(), more.begin(), more.end());
        return a;
    };
    const std::vector<row> rows{
        {{"--webhook", "ftp://h/", "--webhook-secret", "SEKRET"},
         "--webhook: the scheme must be http or https, got 'ftp'"},
        {{"--webhook", "http://user:SEKRET@h/", "--webhook-secret", "x"}, "--webhook: user info"},
        {{"--webhook", "not a url", "--webhook-secret", "SEKRET"}, "--webhook: not an absolute URL"},
        {{"--webhook", "http://h/"}, "--webhook needs --webhook-secret"},
        {{"--webhook-secret", "SEKRET"}, "--webhook-secret needs --webhook URL"},
        {{"--webhook-duplicate", "0.5"}, "--webhook-duplicate needs --webhook URL"},
        {with({"--webhook-duplicate", "2"}), "--webhook-duplicate: must be in [0, 1]"},
        {with({"--webhook-fail", "-1"}), "--webhook-fail: must be in [0, 1]"},
        {with({"--webhook-fail", "x"}), "--webhook-fail: invalid number"},
        {with({"--webhook-timeout", "0"}), "--webhook-timeout: must be 1..86400000 ms"},
        {with({"--webhook-retry-base", "86400001"}), "--webhook-retry-base: must be 1..86400000 ms"},
        {with({"--webhook-retries", "101"}), "--webhook-retries: must be 0..100"},
        {with({"--webhook-retries", "five"}), "--webhook-retries: invalid number"},
        {with({"--webhook-triggers", "message,bogus"}), "--webhook-triggers: unknown trigger 'bogus'"},
        {with({"--webhook-triggers", ""}), "--webhook-triggers: unknown trigger ''"},
        {with({"--webhook-ca", dir.path + "/missing.pem"}), "--webhook-ca: cannot read"},
        {with({"--webhook-ca", not_pem}), "--webhook-ca: no readable PEM certificate"},
        {with({"--webhook-max-in-flight", "0"}), "--webhook-max-in-flight: must be > 0"},
        {with({"--webhook-queue", "0"}), "--webhook-queue: must be > 0"},
        {with({"--webhook-fail-first"}), "--webhook-fail-first needs a value"},
        {with({"--webhook-bogus", "1"}), "unknown option --webhook-bogus"},
    };
    for (const auto& r : rows) {
        child mock(SMOOCH_MOCK_EXE, r.args);
        auto st = mock.wait();
        BOOST_TEST(exit_code(st) == 2, r.error << ": status " << st.value_or(-1));
        BOOST_TEST(mock.err().find(r.error) != std::string::npos, "expected '" << r.error << "', got " << mock.err());
        BOOST_TEST(mock.err().find("SEKRET") == std::string::npos, mock.err());
        BOOST_TEST(mock.out().empty(), mock.out());
    }
}

BOOST_AUTO_TEST_SUITE_END()

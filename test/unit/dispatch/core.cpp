// SPDX-License-Identifier: BSL-1.0
// What each post answer means for its line, what follows reading back, when a campaign stops early, and what a
// resumed run does with each journal state.

#include <boost/test/unit_test.hpp>

#include "dispatch/core.hpp"
#include "dispatch/journal.hpp"

using namespace smooch;
using namespace smooch::dispatch;
using namespace smooch::dispatch::detail;

namespace {

post_result ok(std::string id)
{
    post_result r;
    r.message_id = std::move(id);
    return r;
}

post_result http(unsigned status, bool unknown = false)
{
    post_result r;
    r.ec = make_http_error(status);
    r.status = status;
    r.outcome_unknown = unknown;
    r.description = "HTTP " + std::to_string(status);
    return r;
}

post_result client_err(client_errc e, bool unknown = false, unsigned status = 0)
{
    post_result r;
    r.ec = make_error_code(e);
    r.outcome_unknown = unknown;
    r.status = status;
    return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(assess_post)

BOOST_AUTO_TEST_CASE(a_2xx_with_an_id_is_delivered_without_one_it_is_applied)
{
    BOOST_TEST((assess(ok("abc")).verdict == post_verdict::delivered));
    BOOST_TEST((assess(post_result{}).verdict == post_verdict::applied));
}

BOOST_AUTO_TEST_CASE(an_error_with_a_2xx_status_was_applied_and_is_never_resent)
{
    // The client's known gap: a 201 whose body does not parse comes back as a parse error, outcome_unknown false.
    BOOST_TEST((assess(client_err(client_errc::invalid_json, false, 201)).verdict == post_verdict::applied));
    BOOST_TEST((assess(client_err(client_errc::unexpected_json, false, 200)).verdict == post_verdict::applied));
    BOOST_TEST((after_post(post_verdict::applied, 1, 8) == next_step::reconcile));
    BOOST_TEST((after_check(false, true, 1, 8) == next_step::finish_delivered));  // not visible: still never resent
}

BOOST_AUTO_TEST_CASE(anything_that_may_have_been_applied_is_unknown)
{
    BOOST_TEST((assess(client_err(client_errc::outcome_unknown, true)).verdict == post_verdict::unknown));
    BOOST_TEST((assess(client_err(client_errc::outcome_unknown, false)).verdict == post_verdict::unknown));
    BOOST_TEST((assess(client_err(client_errc::deadline_exceeded, true)).verdict == post_verdict::unknown));
    BOOST_TEST((assess(client_err(client_errc::attempt_timeout, true)).verdict == post_verdict::unknown));
    post_result aborted;
    aborted.ec = boost::asio::error::operation_aborted;
    aborted.outcome_unknown = true;
    BOOST_TEST((assess(aborted).verdict == post_verdict::unknown));
    BOOST_TEST((assess(http(500, true)).verdict == post_verdict::unknown));
    BOOST_TEST(assess(http(502, true)).server_trouble);
}

BOOST_AUTO_TEST_CASE(a_4xx_fails_the_line_and_401_403_count_as_configuration)
{
    for (unsigned s : {400u, 404u, 413u, 423u}) {
        BOOST_TEST((assess(http(s)).verdict == post_verdict::failed));
        BOOST_TEST(!assess(http(s)).auth_failure);
    }
    for (unsigned s : {401u, 403u}) {
        BOOST_TEST((assess(http(s)).verdict == post_verdict::failed));
        BOOST_TEST(assess(http(s)).auth_failure);
    }
}

BOOST_AUTO_TEST_CASE(definitely_not_applied_is_sent_again_until_max_sends)
{
    BOOST_TEST((assess(client_err(client_errc::rate_limited)).verdict == post_verdict::retry));
    BOOST_TEST(!assess(client_err(client_errc::rate_limited)).server_trouble);  // throttled is not down
    BOOST_TEST((assess(client_err(client_errc::deadline_exceeded)).verdict == post_verdict::retry));
    BOOST_TEST((assess(http(503)).verdict == post_verdict::retry));  // 503 + Retry-After past the deadline
    post_result refused;
    refused.ec = boost::asio::error::connection_refused;
    BOOST_TEST((assess(refused).verdict == post_verdict::retry));
    BOOST_TEST(assess(refused).server_trouble);
    BOOST_TEST((after_post(post_verdict::retry, 1, 3) == next_step::send_again));
    BOOST_TEST((after_post(post_verdict::retry, 3, 3) == next_step::give_up));
}

BOOST_AUTO_TEST_CASE(a_request_the_client_refuses_to_send_rejects_the_line)
{
    BOOST_TEST((assess(client_err(client_errc::invalid_request)).verdict == post_verdict::rejected));
    BOOST_TEST((after_post(post_verdict::rejected, 1, 8) == next_step::finish_rejected));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(after_reading_back)

BOOST_AUTO_TEST_CASE(found_is_delivered_absent_is_sent_again_then_given_up)
{
    BOOST_TEST((after_check(true, false, 1, 8) == next_step::finish_delivered));
    BOOST_TEST((after_check(false, false, 1, 8) == next_step::send_again));
    BOOST_TEST((after_check(false, false, 8, 8) == next_step::give_up));
    BOOST_TEST((after_post(post_verdict::unknown, 8, 8) == next_step::reconcile));  // reading back first, always
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(health_of_the_campaign)

BOOST_AUTO_TEST_CASE(consecutive_auth_failures_stop_the_campaign)
{
    health h(3, 0);
    h.on_auth_failure("HTTP 401 invalid_auth");
    h.on_auth_failure("HTTP 401 invalid_auth");
    BOOST_TEST(!h.stop_reason());
    h.on_auth_failure("HTTP 401 invalid_auth");
    BOOST_REQUIRE(h.stop_reason());
    BOOST_TEST(h.stop_reason()->find("401") != std::string::npos);
    BOOST_TEST(h.stop_reason()->find("--retry-failed") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_delivery_between_resets_the_streaks)
{
    health h(3, 3);
    for (int i = 0; i < 10; ++i) {
        h.on_auth_failure("401");  // one app's key is wrong, another's works: not a campaign-wide failure
        h.on_server_trouble("reset");
        h.on_auth_failure("403");
        h.on_server_trouble("reset");
        h.on_success();
    }
    BOOST_TEST(!h.stop_reason());
    h.on_server_trouble("a");
    h.on_server_trouble("b");
    h.on_server_trouble("c");
    BOOST_REQUIRE(h.stop_reason());
    BOOST_TEST(h.stop_reason()->find("down") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(zero_disables_a_limit)
{
    health h(0, 0);
    for (int i = 0; i < 1000; ++i) {
        h.on_auth_failure("401");
        h.on_server_trouble("reset");
    }
    BOOST_TEST(!h.stop_reason());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(resume)

BOOST_AUTO_TEST_CASE(each_journal_state_on_a_resumed_run)
{
    auto st = [](line_state s) { return static_cast<std::uint8_t>(s); };
    BOOST_TEST((resume_action(absent, false) == on_read::send_new));
    BOOST_TEST((resume_action(st(line_state::pending), false) == on_read::send_again));
    BOOST_TEST((resume_action(st(line_state::delivered), false) == on_read::skip));
    BOOST_TEST((resume_action(st(line_state::delivered), true) == on_read::skip));  // never twice
    BOOST_TEST((resume_action(st(line_state::rejected), true) == on_read::skip));
    BOOST_TEST((resume_action(st(line_state::failed), false) == on_read::skip));
    BOOST_TEST((resume_action(st(line_state::failed), true) == on_read::send_again));
    // Possibly sent: settled by reading back before the reader starts, never sent blindly.
    BOOST_TEST((resume_action(st(line_state::sending), true) == on_read::skip));
    BOOST_TEST((resume_action(st(line_state::unknown), true) == on_read::skip));
}

BOOST_AUTO_TEST_SUITE_END()

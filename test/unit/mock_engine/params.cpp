// SPDX-License-Identifier: BSL-1.0
// What the engine refuses: server_params (which the server's constructor passes to it), rate limits and fault
// rules given in code, and timeouts set at run time. A refused change leaves the engine as it was.

#include "engine_test.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

using namespace mock_engine_test;

namespace {

/// The message of the std::invalid_argument that constructing an engine from `p` throws; empty if none.
std::string refusal(const mock::server_params& p)
{
    try {
        mock::engine e(p);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return {};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(params)

BOOST_AUTO_TEST_CASE(bad_server_params_are_refused)
{
    BOOST_TEST(refusal(keyed_params()).empty());
    auto p = keyed_params();
    p.body_limit = 0;
    BOOST_TEST(refusal(p) == "server_params.body_limit must be > 0");
    p = keyed_params();
    p.header_limit = 255;
    BOOST_TEST(refusal(p) == "server_params.header_limit must be >= 256");
    p.header_limit = 256;
    BOOST_TEST(refusal(p).empty());
    p = keyed_params();
    p.max_connections = 0;
    BOOST_TEST(refusal(p) == "server_params.max_connections must be > 0");
    for (auto key : {mock::api_key{"", "s", std::nullopt}, mock::api_key{"k", "", "app"}}) {
        p = keyed_params();
        p.keys.push_back(key);
        BOOST_TEST(refusal(p) == "server_params.keys: key_id and secret must not be empty");
    }
    const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
    for (auto rate :
         {mock::rate_limit{0, 1}, mock::rate_limit{-1, 1}, mock::rate_limit{1, 0.5}, mock::rate_limit{inf, 1},
          mock::rate_limit{1, inf}, mock::rate_limit{nan, 1}, mock::rate_limit{1, nan}}) {
        BOOST_TEST_CONTEXT(rate.requests_per_second << "/s, burst " << rate.burst)
        {
            p = keyed_params();
            p.rate = rate;
            BOOST_TEST(refusal(p) == "server_params.rate: requests_per_second must be > 0 and burst >= 1, both finite");
        }
    }
    p = keyed_params();
    p.rate = mock::rate_limit{0.001, 1};
    BOOST_TEST(refusal(p).empty());

    using ms = std::chrono::milliseconds;
    for (auto [field, name] : {std::pair{&mock::server_params::idle_timeout, "idle_timeout"},
                               std::pair{&mock::server_params::header_timeout, "header_timeout"},
                               std::pair{&mock::server_params::body_timeout, "body_timeout"},
                               std::pair{&mock::server_params::write_timeout, "write_timeout"},
                               std::pair{&mock::server_params::handshake_timeout, "handshake_timeout"}}) {
        for (auto bad : {ms(0), ms(-1), ms(86'400'001)}) {
            p = keyed_params();
            p.*field = bad;
            BOOST_TEST(refusal(p) == "server_params." + std::string(name) + " must be 1..86400000 ms, got " +
                                         std::to_string(bad.count()));
        }
        for (auto good : {ms(1), ms(86'400'000)}) {
            p = keyed_params();
            p.*field = good;
            BOOST_TEST(refusal(p).empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(fault_rules_in_code_are_checked)
{
    mock::fault_rule r;
    r.action = mock::fault_action::status;
    auto p = keyed_params();
    r.probability = 0;
    p.faults = {r};
    BOOST_TEST(refusal(p) == "server_params.faults: probability must be in (0, 1]");
    r.probability = 1.5;
    p.faults = {r};
    BOOST_TEST(refusal(p) == "server_params.faults: probability must be in (0, 1]");
    r.probability = 1;
    r.delay = std::chrono::milliseconds(-1);
    p.faults = {r};
    BOOST_TEST(refusal(p) == "server_params.faults: delay must be 0..86400000 ms, got -1");
    r.delay = std::chrono::milliseconds(86'400'001);
    BOOST_CHECK_THROW(driver{}.e.add_fault(r), std::invalid_argument);
    BOOST_CHECK_THROW(mock::parse_fault("delay=86400001"), std::invalid_argument);
    r.delay = std::chrono::milliseconds(86'400'000);
    p.faults = {r};
    BOOST_TEST(refusal(p).empty());

    // A refused rule is not added.
    driver d;
    r.delay = {};
    r.status = 304;
    try {
        d.e.add_fault(r);
        BOOST_ERROR("accepted status 304");
    } catch (const std::invalid_argument& e) {
        BOOST_TEST(std::string(e.what()) == "fault_rule: status must be 200..599 except 204 and 304, got 304");
    }
    BOOST_TEST(d.post("app1", "u").status == 201u);
}

BOOST_AUTO_TEST_CASE(run_time_settings)
{
    driver d;
    BOOST_TEST(d.e.idle_timeout().count() == 60'000);
    BOOST_TEST(d.e.close_after_requests() == 0u);
    d.e.set_idle_timeout(std::chrono::milliseconds(5));
    BOOST_TEST(d.e.idle_timeout().count() == 5);
    for (auto bad : {0, -5, 86'400'001}) {
        BOOST_CHECK_THROW(d.e.set_idle_timeout(std::chrono::milliseconds(bad)), std::invalid_argument);
        BOOST_TEST(d.e.idle_timeout().count() == 5);
    }
    d.e.set_close_after_requests(3);
    BOOST_TEST(d.e.close_after_requests() == 3u);

    // A refused rate limit leaves the one in force.
    d.e.set_rate_limit(mock::rate_limit{0.01, 1});
    BOOST_CHECK_THROW(d.e.set_rate_limit(mock::rate_limit{0, 1}), std::invalid_argument);
    BOOST_TEST(d.post("app1", "u").status == 201u);
    BOOST_TEST(d.post("app1", "u").status == 429u);
}

BOOST_AUTO_TEST_SUITE_END()

// SPDX-License-Identifier: BSL-1.0
#pragma once
// Drives smooch::mock::engine::handle() with http_request values, the way smooch::mock::server does after
// parsing a request, but without sockets: each request's arrival time is given (t0 + an offset), so the rate
// limiter and the record are deterministic. Checks are exact: status, error code and description, headers.

#include "credentials.hpp"

#include <smooch/mock/engine.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace mock_engine_test {

namespace mock = smooch::mock;
namespace json = boost::json;
using namespace std::chrono_literals;
using namespace mock_test;  // basic_std, bearer, jwt, b64url, pct, msgs_path

/// The origin of arrival times: arbitrary and fixed, so the record's arrivals are known exactly.
inline const std::chrono::steady_clock::time_point t0{std::chrono::hours(1)};

/// The wire tests' keys: "acct" (account key) and "app1key" (bound to app1).
inline mock::server_params keyed_params()
{
    mock::server_params p;
    p.keys = {{"acct", "acct-secret", std::nullopt}, {"app1key", "app1-secret", "app1"}};
    return p;
}

/// Basic credentials of these keys.
inline const std::string acct_basic = basic_std("acct", "acct-secret");
inline const std::string app1_basic = basic_std("app1key", "app1-secret");

inline std::string text_body(std::string_view text, std::string_view role = "appMaker")
{
    json::object o{{"role", role}, {"type", "text"}, {"text", text}};
    return json::serialize(o);
}

struct driver {
    explicit driver(const mock::server_params& p = keyed_params()) : e(p) {}

    /// One request arriving at t0 + `at`; the response.
    mock::http_response send(std::string_view method, std::string_view target, std::string_view body = {},
                             std::string_view auth = acct_basic, std::chrono::milliseconds at = 0ms)
    {
        mock::http_request r;
        r.method = method;
        r.target = target;
        r.body = body;
        r.authorization = auth;
        r.arrival = t0 + at;
        mock::http_response out;
        e.handle(r, out);
        return out;
    }
    /// POST of a text message to (app, user), percent-encoding both.
    mock::http_response post(std::string_view app, std::string_view user, std::string_view text = "hi",
                             std::string_view auth = acct_basic, std::chrono::milliseconds at = 0ms)
    {
        return send("POST", msgs_path(app, user), text_body(text), auth, at);
    }

    mock::engine e;
};

/// The response's body as a JSON object (fails the test otherwise).
inline json::object body_of(const mock::http_response& r)
{
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    BOOST_REQUIRE_MESSAGE(!ec && v.is_object(), "not a JSON object: " << r.body);
    return v.get_object();
}

/// An API error, exactly: status, code and description.
inline void check_error(const mock::http_response& r, unsigned status, std::string_view code,
                        std::string_view description)
{
    BOOST_TEST(r.status == status, "status " << r.status << " != " << status << ": " << r.body);
    auto o = body_of(r);
    auto* e = o.if_contains("error");
    BOOST_REQUIRE_MESSAGE(e && e->is_object(), r.body);
    BOOST_TEST(json::value_to<std::string>(e->at("code")) == code);
    BOOST_TEST(json::value_to<std::string>(e->at("description")) == description);
}

}  // namespace mock_engine_test

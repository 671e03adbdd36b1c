// SPDX-License-Identifier: BSL-1.0
// Routing: ids percent-decoded segment by segment, bad escapes, what is no route, the query parameters.

#include "engine_test.hpp"

#include <string>
#include <vector>

using namespace mock_engine_test;

namespace {

/// Every byte percent-encoded, even unreserved ones (a server must decode "%61" as "a").
std::string encode_all(std::string_view s)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(routing)

// Segments are split on the raw '/' first, then decoded: %2F stays inside its id, and an id may hold any byte.
BOOST_AUTO_TEST_CASE(ids_are_decoded_after_splitting_the_path)
{
    driver d;
    BOOST_TEST(d.send("POST", "/v1.1/apps/a%20b/appusers/a%2Fb/messages", text_body("one")).status == 201u);
    BOOST_TEST(d.send("POST", "/v1.1/apps/a%20b/appusers/a%2fb/messages", text_body("two")).status == 201u);  // %2f
    BOOST_TEST(d.send("POST", "/v1.1/apps/a+b/appusers/x%00y/messages", text_body("three")).status == 201u);
    BOOST_TEST(d.send("POST", "/v1.1/apps/caf%C3%A9/appusers/%FF/messages", text_body("four")).status == 201u);
    auto rec = d.e.snapshot();
    BOOST_REQUIRE(rec.conversations.size() == 3u);
    BOOST_REQUIRE(rec.find("a b", "a/b"));
    BOOST_TEST(rec.find("a b", "a/b")->texts() == (std::vector<std::string>{"one", "two"}));
    BOOST_TEST(!rec.find("a", "b"));
    BOOST_TEST(rec.find("a+b", std::string("x\0y", 3)), "'+' is not a space, %00 a NUL byte");
    BOOST_TEST(rec.find("caf\xc3\xa9", "\xff"));
    BOOST_TEST(rec.requests[0].app_id == "a b");
    BOOST_TEST(rec.requests[0].user_id == "a/b");

    // A message id is decoded too: deleting with every byte escaped finds it.
    auto id = json::value_to<std::string>(body_of(d.post("app1", "u")).at("message").at("_id"));
    BOOST_TEST(d.send("DELETE", "/v1.1/apps/" + encode_all("app1") + "/appusers/u/messages/" + encode_all(id)).status ==
               200u);
    BOOST_TEST(d.e.snapshot().find("app1", "u")->messages.empty());
}

BOOST_AUTO_TEST_CASE(a_bad_escape_in_an_id_is_400)
{
    auto p = keyed_params();
    p.rate = mock::rate_limit{0.01, 1};  // one token: a bad escape must not take it
    driver d(p);
    for (auto target : {"/v1.1/apps/a%zz/appusers/u/messages", "/v1.1/apps/a/appusers/u%/messages",
                        "/v1.1/apps/a/appusers/u%4/messages", "/v1.1/apps/%/appusers/u/conversation/read",
                        "/v1.1/apps/a/appusers/u/messages/%G1"}) {
        BOOST_TEST_CONTEXT(target)
        {
            auto method = std::string_view(target).ends_with("read") ? "POST" : "DELETE";
            check_error(d.send(method, target), 400, "bad_request", "Invalid percent-encoding in the path");
            // Decided before auth and before the method: no credentials, or a method the path does not allow.
            check_error(d.send(method, target, {}, ""), 400, "bad_request", "Invalid percent-encoding in the path");
            check_error(d.send("PUT", target), 400, "bad_request", "Invalid percent-encoding in the path");
        }
    }
    // Outside an API route an escape is never decoded: just no route.
    check_error(d.send("GET", "/v1.1/apps/a%zz/appusers/u/nothing"), 404, "not_found", "No such route");
    auto rec = d.e.snapshot();
    BOOST_TEST(rec.routed.at("unknown") == 16u);
    BOOST_TEST(rec.requests[0].app_id.empty());
    BOOST_TEST(rec.unauthorized == 0u);
    BOOST_TEST(rec.rate_limited == 0u);
    BOOST_TEST(d.post("a", "u").status == 201u);  // the token was still there
}

BOOST_AUTO_TEST_CASE(what_is_not_a_route_and_wrong_methods)
{
    driver d;
    for (auto target :
         {"/", "", "v1.1/apps/a/appusers/u/messages", "/v1/apps/a/appusers/u/messages", "/v1.1/apps/a/appusers/u",
          "/v1.1/apps/a/appusers/u/messages/", "/v1.1/apps//appusers/u/messages", "/v1.1/apps/a/appusers//messages",
          "/v1.1/apps/a/appusers/u/conversation", "/v1.1/apps/a/appusers/u/conversation/typing",
          "/v1.1/apps/a/users/u/messages", "/v1.1/apps/a/appusers/u/messages/m/x",
          "/v1.1/apps/a/appusers/u/messages//"}) {
        BOOST_TEST_CONTEXT(target) { check_error(d.send("GET", target), 404, "not_found", "No such route"); }
    }
    struct wrong {
        std::string method, tail, allow;
    };
    for (auto& w : std::vector<wrong>{{"PUT", "/messages", "GET, POST, DELETE"},
                                      {"HEAD", "/messages", "GET, POST, DELETE"},
                                      {"get", "/messages", "GET, POST, DELETE"},  // methods are case-sensitive
                                      {"GET", "/messages/abc", "DELETE"},
                                      {"POST", "/messages/abc", "DELETE"},
                                      {"GET", "/conversation/read", "POST"},
                                      {"DELETE", "/conversation/activity", "POST"}}) {
        BOOST_TEST_CONTEXT(w.method << " " << w.tail)
        {
            auto r = d.send(w.method, "/v1.1/apps/a/appusers/u" + w.tail);
            check_error(r, 405, "method_not_allowed", w.method + " is not allowed on this path");
            BOOST_TEST(r.allow == w.allow);
        }
    }
    BOOST_TEST(d.send("GET", "/nothing").allow.empty());
    auto rec = d.e.snapshot();
    BOOST_TEST(rec.routed.size() == 1u);  // all "unknown"
    BOOST_TEST(rec.unauthorized == 0u);   // no route: auth is not even looked at
}

BOOST_AUTO_TEST_CASE(query_parameters)
{
    driver d;
    auto path = msgs_path("app1", "q");
    for (int i = 0; i < 3; ++i) BOOST_REQUIRE(d.post("app1", "q", std::to_string(i)).status == 201u);
    auto count = [&](const std::string& query) {
        auto r = d.send("GET", path + query);
        BOOST_REQUIRE_MESSAGE(r.status == 200u, query << ": " << r.body);
        return body_of(r).at("messages").as_array().size();
    };
    BOOST_TEST(count("") == 3u);
    BOOST_TEST(count("?after=0") == 3u);
    BOOST_TEST(count("?after=%30") == 3u);                   // the value is percent-decoded
    BOOST_TEST(count("?x=1&before=0") == 0u);                // found among other parameters
    BOOST_TEST(count("?after=99999999999#frag") == 0u);      // a fragment is not part of the query
    for (auto q : {"?before=1&after=2", "?after=0&before"})  // a name without `=` is there, empty
        BOOST_TEST_CONTEXT(q)
        {
            check_error(d.send("GET", path + q), 400, "bad_request", "before and after are mutually exclusive");
        }
    const std::string stamp = " must be a Unix timestamp in seconds, e.g. 1439220041.586";
    for (auto q : {"?before=abc", "?before=", "?before=-1", "?before=1.", "?before=%zz", "?before=1234567890123"})
        BOOST_TEST_CONTEXT(q) { check_error(d.send("GET", path + q), 400, "bad_request", "before" + stamp); }
    for (auto q : {"?after=1e9", "?after=+1", "?after=.5", "?after=1.5.0"}) BOOST_TEST_CONTEXT(q)
        {
            check_error(d.send("GET", path + q), 400, "bad_request", "after" + stamp);
        }
}

BOOST_AUTO_TEST_SUITE_END()

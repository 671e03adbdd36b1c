// SPDX-License-Identifier: BSL-1.0
// The record: counters, the request list with the given arrival times, conversations, and its JSON form.

#include "engine_test.hpp"

#include <boost/json/value_from.hpp>

#include <map>
#include <string>
#include <vector>

using namespace mock_engine_test;

BOOST_AUTO_TEST_SUITE(record)

BOOST_AUTO_TEST_CASE(counters_and_requests)
{
    auto p = keyed_params();
    p.rate = mock::rate_limit{0.01, 4};
    driver d(p);
    d.e.add_fault(mock::parse_fault("status=503,count=1,route=get_messages"));
    std::vector<std::string> ids;
    for (int i = 0; i < 2; ++i) {
        auto r = d.post("app1", "u", "t" + std::to_string(i), acct_basic, std::chrono::milliseconds(10 * i));
        ids.emplace_back(body_of(r).at("message").at("_id").as_string());
    }
    BOOST_TEST(d.send("GET", msgs_path("app1", "u"), {}, acct_basic, 20ms).status == 503u);  // faulted
    BOOST_TEST(d.send("DELETE", msgs_path("app1", "u") + "/" + ids[0], {}, acct_basic, 30ms).status == 200u);
    BOOST_TEST(d.send("GET", "/nowhere", {}, acct_basic, 40ms).status == 404u);
    BOOST_TEST(d.send("GET", msgs_path("app1", "u"), {}, "", 50ms).status == 401u);
    BOOST_TEST(d.post("app2", "v", "x", acct_basic, 60ms).status == 201u);
    BOOST_TEST(d.send("GET", msgs_path("app1", "u"), {}, acct_basic, 70ms).status == 200u);  // the last token
    BOOST_TEST(d.send("GET", msgs_path("app1", "u"), {}, acct_basic, 80ms).status == 429u);

    auto rec = d.e.snapshot();
    BOOST_TEST(rec.requests_total == 9u);
    BOOST_TEST(rec.rate_limited == 1u);
    BOOST_TEST(rec.unauthorized == 1u);
    BOOST_TEST(rec.routed == (std::map<std::string, std::uint64_t>{
                                 {"get_messages", 4}, {"post_message", 3}, {"delete_message", 1}, {"unknown", 1}}));
    BOOST_TEST(rec.operations ==
               (std::map<std::string, std::uint64_t>{{"get_messages", 1}, {"post_message", 3}, {"delete_message", 1}}));
    BOOST_TEST(rec.faults == (std::map<std::string, std::uint64_t>{{"status", 1}}));
    BOOST_TEST(rec.operation_count("delete_messages") == 0u);
    BOOST_TEST(rec.fault_count(mock::fault_action::reset) == 0u);
    struct want {
        int at_ms;
        std::string method, route, app, user;
        unsigned status;
        bool faulted, applied;
    };
    const std::vector<want> expected = {
        {0, "POST", "post_message", "app1", "u", 201, false, true},
        {10, "POST", "post_message", "app1", "u", 201, false, true},
        {20, "GET", "get_messages", "app1", "u", 503, true, false},
        {30, "DELETE", "delete_message", "app1", "u", 200, false, true},
        {40, "GET", "unknown", "", "", 404, false, false},
        {50, "GET", "get_messages", "app1", "u", 401, false, false},
        {60, "POST", "post_message", "app2", "v", 201, false, true},
        {70, "GET", "get_messages", "app1", "u", 200, false, true},
        {80, "GET", "get_messages", "app1", "u", 429, false, false},
    };
    BOOST_REQUIRE(rec.requests.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        auto& q = rec.requests[i];
        auto& w = expected[i];
        BOOST_TEST_CONTEXT("request " << i)
        {
            BOOST_TEST((q.arrival == t0 + std::chrono::milliseconds(w.at_ms)));
            BOOST_TEST(q.method == w.method);
            BOOST_TEST(q.route == w.route);
            BOOST_TEST(q.app_id == w.app);
            BOOST_TEST(q.user_id == w.user);
            BOOST_TEST(q.status == w.status);
            BOOST_TEST(q.faulted == w.faulted);
            BOOST_TEST(q.applied == w.applied);
        }
    }
    BOOST_TEST(rec.requests_before("app1", t0) == 0u);
    BOOST_TEST(rec.requests_before("app1", t0 + 1ms) == 1u);
    BOOST_TEST(rec.requests_before("app1", t0 + 50ms) == 4u);  // strictly before
    BOOST_TEST(rec.requests_before("app1", t0 + 1h) == 7u);
    BOOST_TEST(rec.requests_before("app2", t0 + 1h) == 1u);
}

BOOST_AUTO_TEST_CASE(conversations)
{
    driver d;
    auto id_of = [](const mock::http_response& r) {
        return json::value_to<std::string>(body_of(r).at("message").at("_id"));
    };
    BOOST_TEST(d.post("b", "u", "b1").status == 201u);
    auto a1 = id_of(d.post("a", "z", "z1"));
    auto a2 = id_of(d.send("POST", msgs_path("a", "z"), R"({"role":"appUser","type":"image","mediaUrl":"m"})"));
    auto a3 = id_of(d.post("a", "z", "z3"));
    BOOST_TEST(d.post("a", "u", "u1").status == 201u);
    BOOST_TEST(d.send("DELETE", msgs_path("a", "z") + "/" + a1).status == 200u);
    auto rec = d.e.snapshot();
    std::vector<std::string> keys;
    for (auto& c : rec.conversations) keys.push_back(c.app_id + "/" + c.user_id);
    BOOST_TEST(keys == (std::vector<std::string>{"a/u", "a/z", "b/u"}), boost::test_tools::per_element());
    auto* z = rec.find("a", "z");
    BOOST_REQUIRE(z);
    BOOST_TEST(z->message_ids() == (std::vector<std::string>{a2, a3}));
    BOOST_TEST(z->texts() == (std::vector<std::string>{"", "z3"}));  // the image has no text
    BOOST_TEST(!z->messages[0].text);
    BOOST_TEST(z->created_ids == (std::vector<std::string>{a1, a2, a3}));  // deleted ones too
    BOOST_TEST(z->unread_count == 2);  // +1 per appMaker message; deleting one does not change it
    BOOST_TEST(z->messages[1].received_ms > z->messages[0].received_ms);
    BOOST_TEST(body_of(d.send("GET", msgs_path("a", "z"))).at("messages").at(0) == json::parse(z->messages[0].json));
    BOOST_TEST(!rec.find("a", "b"));
    BOOST_TEST(!rec.find("z", "a"));
}

BOOST_AUTO_TEST_CASE(max_recorded_requests_caps_the_list_not_the_counters)
{
    auto p = keyed_params();
    p.max_recorded_requests = 3;
    driver d(p);
    for (int i = 0; i < 5; ++i)
        BOOST_TEST(d.post("a", "u", "x", acct_basic, std::chrono::milliseconds(i)).status == 201u);
    auto rec = d.e.snapshot();
    BOOST_TEST(rec.requests.size() == 3u);
    BOOST_TEST((rec.requests.back().arrival == t0 + 2ms));  // the first three
    BOOST_TEST(rec.requests_total == 5u);
    BOOST_TEST(rec.operation_count("post_message") == 5u);
    BOOST_TEST(rec.find("a", "u")->messages.size() == 5u);
}

BOOST_AUTO_TEST_CASE(to_json_is_the_snapshot)
{
    driver d;
    d.e.add_fault(mock::parse_fault("status=502,count=1,app=app2"));
    BOOST_TEST(d.post("app1", "u", "hello", acct_basic, 5ms).status == 201u);
    const std::string image = R"({"role":"appMaker","type":"image","mediaUrl":"m"})";
    BOOST_TEST(d.send("POST", msgs_path("app1", "u"), image, acct_basic, 6ms).status == 201u);
    BOOST_TEST(d.post("app2", "u", "x", acct_basic, 7ms).status == 502u);
    BOOST_TEST(d.post("\xff", "caf\xc3\xa9\n", "y", acct_basic, 8ms).status == 201u);  // ids that are not all UTF-8
    auto rec = d.e.snapshot();
    auto text = mock::to_json(rec);
    // Invalid UTF-8 is escaped per byte, so the document is valid JSON; valid UTF-8 stays as it is.
    BOOST_TEST(text.find(R"("app_id":"\u00ff","user_id":"caf)"
                         "\xc3\xa9"
                         R"(\n")") != std::string::npos,
               text);
    auto o = json::parse(text).as_object();
    BOOST_TEST(o.at("requests_total").as_int64() == 4);
    BOOST_TEST(o.at("rate_limited").as_int64() == 0);
    BOOST_TEST(o.at("unauthorized").as_int64() == 0);
    BOOST_TEST(o.at("routed") == json::parse(R"({"post_message":4})"));
    BOOST_TEST(o.at("operations") == json::parse(R"({"post_message":3})"));
    BOOST_TEST(o.at("faults") == json::parse(R"({"status":1})"));
    auto& convs = o.at("conversations").as_array();
    BOOST_REQUIRE(convs.size() == 2u);
    // Sorted by the ids' bytes: "app1" < "\xff". The escape reads back as U+00FF: lossy, by design.
    BOOST_TEST(convs[1].at("app_id").as_string() == "\xc3\xbf");
    auto& first = convs[0].as_object();
    BOOST_TEST(first.at("app_id").as_string() == "app1");
    BOOST_TEST(first.at("conversation_id").as_string() == rec.find("app1", "u")->conversation_id);
    BOOST_TEST(first.at("unread_count").as_int64() == 2);
    BOOST_TEST(first.at("message_ids") == json::value_from(rec.find("app1", "u")->message_ids()));
    BOOST_TEST(first.at("texts") == json::parse(R"(["hello",null])"));
    BOOST_TEST(first.at("created_ids") == json::value_from(rec.find("app1", "u")->created_ids));
    auto& reqs = o.at("requests").as_array();
    BOOST_REQUIRE(reqs.size() == 4u);
    BOOST_TEST(
        reqs[0] ==
        json::parse(R"({"arrival_ns":)" +
                    std::to_string(
                        std::chrono::duration_cast<std::chrono::nanoseconds>((t0 + 5ms).time_since_epoch()).count()) +
                    R"(,"method":"POST","route":"post_message","app_id":"app1","user_id":"u",)"
                    R"("status":201,"fault":null,"applied":true})"));
    BOOST_TEST(reqs[2].at("fault").as_string() == "status");
    BOOST_TEST(reqs[2].at("status").as_int64() == 502);
    BOOST_TEST(reqs[2].at("applied").as_bool() == false);
}

BOOST_AUTO_TEST_CASE(reset_forgets_state_record_and_buckets_but_not_rules)
{
    auto p = keyed_params();
    p.rate = mock::rate_limit{0.01, 1};
    driver d(p);
    d.e.add_fault(mock::parse_fault("status=503,skip=2"));
    BOOST_TEST(d.post("a", "u").status == 201u);
    BOOST_TEST(d.post("a", "u").status == 429u);
    d.e.reset();
    auto rec = d.e.snapshot();
    BOOST_TEST(rec.conversations.empty());
    BOOST_TEST(rec.requests.empty());
    BOOST_TEST(rec.requests_total == 0u);
    BOOST_TEST(rec.rate_limited == 0u);
    BOOST_TEST(rec.routed.empty());
    BOOST_TEST(d.post("a", "u").status == 503u);  // the rule stays, its skip already used up
    d.e.clear_faults();
    BOOST_TEST(d.post("a", "u").status == 201u);  // a full bucket again
    BOOST_TEST(d.e.snapshot().find("a", "u")->messages.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

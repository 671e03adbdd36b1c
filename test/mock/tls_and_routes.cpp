// SPDX-License-Identifier: BSL-1.0
// smooch-mock over the wire: TLS, the six routes, state, pagination, validation and HEAD.

#include "wire.hpp"

#include <set>
#include <string>
#include <vector>

using namespace mock_test;

BOOST_AUTO_TEST_SUITE(tls_and_routes)

BOOST_AUTO_TEST_CASE(generated_certificate_verifies_for_names_and_ips, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    BOOST_TEST(f.srv->base_url() == "https://127.0.0.1:" + std::to_string(f.srv->port()));
    client a(f.srv->port(), true, "localhost");
    client b(f.srv->port(), true, "127.0.0.1");
    BOOST_TEST(a.request(http::verb::get, "/nothing").result_int() == 404u);
    BOOST_TEST(b.request(http::verb::get, "/nothing").result_int() == 404u);
}

BOOST_AUTO_TEST_CASE(six_operations_status_and_bodies, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    auto p = post(c, "app1", "user1", "Hello!");
    auto& m = p.at("message").as_object();
    BOOST_TEST(is_hex24(m.at("_id").as_string()));
    BOOST_TEST(m.at("role").as_string() == "appMaker");
    BOOST_TEST(m.at("type").as_string() == "text");
    BOOST_TEST(m.at("text").as_string() == "Hello!");
    BOOST_TEST(is_hex24(m.at("authorId").as_string()));
    BOOST_TEST(m.at("received").is_double());
    auto& conv = p.at("conversation").as_object();
    BOOST_TEST(is_hex24(conv.at("_id").as_string()));
    BOOST_TEST(conv.at("unreadCount").as_int64() == 1);

    // received is a plain decimal with exactly three fraction digits
    auto raw = c.request(http::verb::post, msgs_path("app1", "user1"), text_msg("x")).body();
    auto pos = raw.find("\"received\":");
    BOOST_REQUIRE(pos != std::string::npos);
    auto num = raw.substr(pos + 11, raw.find_first_of(",}", pos + 11) - pos - 11);
    BOOST_TEST(num.find_first_not_of("0123456789.") == std::string::npos, num);
    BOOST_TEST(num.size() - num.find('.') == 4u, num);

    auto g = c.request(http::verb::get, msgs_path("app1", "user1"));
    BOOST_TEST(g.result_int() == 200u);
    auto gb = body_of(g);
    BOOST_TEST(gb.at("messages").as_array().size() == 2u);
    BOOST_TEST(gb.at("conversation").at("_id") == conv.at("_id"));
    BOOST_TEST(!gb.contains("next"));
    BOOST_TEST(!gb.contains("previous"));

    auto act = c.request(http::verb::post, "/v1.1/apps/app1/appusers/user1/conversation/activity",
                         R"({"role":"appMaker","type":"typing:start","name":"Steve"})");
    BOOST_TEST(act.result_int() == 200u);
    BOOST_TEST(body_of(act).at("conversation").at("_id") == conv.at("_id"));

    auto rd = c.request(http::verb::post, "/v1.1/apps/app1/appusers/user1/conversation/read");
    BOOST_TEST(rd.result_int() == 200u);

    std::string id(m.at("_id").as_string());
    auto d1 = c.request(http::verb::delete_, msgs_path("app1", "user1") + "/" + id);
    BOOST_TEST(d1.result_int() == 200u);
    BOOST_TEST(body_of(c.request(http::verb::get, msgs_path("app1", "user1"))).at("messages").as_array().size() == 1u);
    auto d2 = c.request(http::verb::delete_, msgs_path("app1", "user1"));
    BOOST_TEST(d2.result_int() == 200u);
    auto after = body_of(c.request(http::verb::get, msgs_path("app1", "user1")));
    BOOST_TEST(after.at("messages").as_array().empty());
    BOOST_TEST(after.at("conversation").at("_id") == conv.at("_id"));
}

BOOST_AUTO_TEST_CASE(every_posted_field_is_stored, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    std::string body =
        R"({"role":"appMaker","type":"carousel","items":[{"title":"Tacos","actions":[{"text":"Select",)"
        R"("type":"postback","payload":"TACOS"}]}],"displaySettings":{"imageAspectRatio":"square"},)"
        R"("metadata":{"lang":"en","n":3,"ok":true},"name":"Bot","avatarUrl":"http://a/b.png","x-unknown":[1,2]})";
    auto r = c.request(http::verb::post, msgs_path("app1", "u"), body);
    BOOST_REQUIRE(r.result_int() == 201u);
    auto m = body_of(r).at("message").as_object();
    BOOST_TEST(m.at("items").as_array().size() == 1u);
    BOOST_TEST(m.at("displaySettings").at("imageAspectRatio").as_string() == "square");
    BOOST_TEST(m.at("metadata").at("n").as_int64() == 3);
    BOOST_TEST(m.at("name").as_string() == "Bot");
    BOOST_TEST(m.at("x-unknown").as_array().size() == 2u);
    auto g = body_of(c.request(http::verb::get, msgs_path("app1", "u")));
    BOOST_TEST(g.at("messages").at(0) == m);
}

BOOST_AUTO_TEST_CASE(not_found_and_method_not_allowed, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    check_error(c.request(http::verb::get, "/v1.1/apps/app1/appusers/nobody/messages"), 404, "conversation_not_found");
    check_error(c.request(http::verb::post, "/v1.1/apps/app1/appusers/nobody/conversation/read"), 404,
                "conversation_not_found");
    check_error(c.request(http::verb::delete_, "/v1.1/apps/app1/appusers/nobody/messages"), 404,
                "conversation_not_found");
    check_error(c.request(http::verb::post, "/v1.1/apps/app1/appusers/nobody/conversation/activity",
                          R"({"role":"appMaker","type":"typing:stop"})"),
                404, "conversation_not_found");
    post(c, "app1", "u", "a");
    check_error(c.request(http::verb::delete_, "/v1.1/apps/app1/appusers/u/messages/0123456789abcdef01234567"), 404,
                "message_not_found");
    check_error(c.request(http::verb::get, "/v1.1/apps/app1/appusers/u"), 404, "not_found");
    check_error(c.request(http::verb::get, "/v1/apps/app1/appusers/u/messages"), 404, "not_found");
    check_error(c.request(http::verb::get, "/v1.1/apps/app1/appusers/u/messages/"), 404, "not_found");
    check_error(c.request(http::verb::get, "/v1.1/apps//appusers/u/messages"), 404, "not_found");
    auto r = c.request(http::verb::put, "/v1.1/apps/app1/appusers/u/messages");
    check_error(r, 405, "method_not_allowed");
    BOOST_TEST(r[http::field::allow] == "GET, POST, DELETE");
    auto r2 = c.request(http::verb::get, "/v1.1/apps/app1/appusers/u/conversation/read");
    check_error(r2, 405, "method_not_allowed");
    BOOST_TEST(r2[http::field::allow] == "POST");
    check_error(c.request(http::verb::get, "/v1.1/apps/app1/appusers/u/messages/abc"), 405, "method_not_allowed");
}

BOOST_AUTO_TEST_CASE(state_rules, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    std::set<std::string> ids;
    double last = 0;
    std::string conv;
    for (int i = 0; i < 30; ++i) {
        auto p = post(c, "app1", "u", "m" + std::to_string(i), i % 3 == 0 ? "appUser" : "appMaker");
        auto& m = p.at("message").as_object();
        BOOST_TEST(ids.insert(std::string(m.at("_id").as_string())).second);
        double rcv = m.at("received").to_number<double>();
        BOOST_TEST(rcv > last);
        last = rcv;
        if (i == 0) conv = p.at("conversation").at("_id").as_string();
        BOOST_TEST(p.at("conversation").at("_id").as_string() == conv);
    }
    // unreadCount: +1 per appMaker message (20 of 30), appUser messages leave it, read resets it.
    auto g = body_of(c.request(http::verb::get, msgs_path("app1", "u")));
    BOOST_TEST(g.at("conversation").at("unreadCount").as_int64() == 20);
    // appUser author is the conversation's appUser id; appMaker author differs
    auto& ms = g.at("messages").as_array();
    BOOST_TEST(ms.at(0).at("authorId") != ms.at(1).at("authorId"));
    BOOST_TEST(ms.at(0).at("authorId") == ms.at(3).at("authorId"));
    c.request(http::verb::post, "/v1.1/apps/app1/appusers/u/conversation/read");
    g = body_of(c.request(http::verb::get, msgs_path("app1", "u")));
    BOOST_TEST(g.at("conversation").at("unreadCount").as_int64() == 0);
    post(c, "app1", "u", "again");
    auto a = body_of(c.request(http::verb::post, "/v1.1/apps/app1/appusers/u/conversation/activity",
                               R"({"role":"appMaker","type":"conversation:read"})"));
    BOOST_TEST(a.at("conversation").at("unreadCount").as_int64() == 1);
    c.request(http::verb::delete_, msgs_path("app1", "u"));
    g = body_of(c.request(http::verb::get, msgs_path("app1", "u")));
    BOOST_TEST(g.at("conversation").at("unreadCount").as_int64() == 0);
    // received keeps increasing after deleting the newest message
    auto p1 = post(c, "app1", "u", "x");
    c.request(http::verb::delete_, msgs_path("app1", "u") + "/" + std::string(p1.at("message").at("_id").as_string()));
    auto p2 = post(c, "app1", "u", "y");
    BOOST_TEST(p2.at("message").at("received").to_number<double>() >
               p1.at("message").at("received").to_number<double>());
    // conversations are per app and user
    auto other = post(c, "app2", "u", "z");
    BOOST_TEST(other.at("conversation").at("_id").as_string() != conv);
}

BOOST_AUTO_TEST_CASE(pagination_250_messages, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    std::vector<std::string> ids;
    std::vector<std::string> stamps;
    for (int i = 0; i < 250; ++i) {
        auto raw = c.request(http::verb::post, msgs_path("app1", "pager"), text_msg(std::to_string(i)));
        BOOST_REQUIRE(raw.result_int() == 201u);
        auto& b = raw.body();
        auto pos = b.find("\"received\":") + 11;
        stamps.push_back(b.substr(pos, b.find_first_of(",}", pos) - pos));
        ids.push_back(std::string(body_of(raw).at("message").at("_id").as_string()));
    }
    auto base = f.srv->base_url();
    auto page_ids = [](const json::object& o) {
        std::vector<std::string> v;
        for (auto& m : o.at("messages").as_array()) v.emplace_back(m.at("_id").as_string());
        return v;
    };
    // Default: the most recent 100, ascending; previous present, next absent.
    auto p = body_of(c.request(http::verb::get, msgs_path("app1", "pager")));
    BOOST_TEST(page_ids(p) == std::vector<std::string>(ids.begin() + 150, ids.end()));
    BOOST_TEST(!p.contains("next"));
    BOOST_REQUIRE(p.contains("previous"));
    // Walk backwards with previous: 100, 100, 50.
    std::vector<std::size_t> sizes{page_ids(p).size()};
    std::vector<std::string> all = page_ids(p);
    for (int guard_pages = 0; p.contains("previous") && guard_pages < 10; ++guard_pages) {
        BOOST_TEST(p.contains("next") == (sizes.size() > 1));
        p = body_of(c.request(http::verb::get, target_of(p.at("previous"), base)));
        auto v = page_ids(p);
        sizes.push_back(v.size());
        all.insert(all.begin(), v.begin(), v.end());
    }
    BOOST_TEST(sizes == (std::vector<std::size_t>{100, 100, 50}));
    BOOST_TEST(all == ids);
    BOOST_TEST(p.contains("next"));
    // Walk forwards from after=0 with next: 100, 100, 50.
    p = body_of(c.request(http::verb::get, msgs_path("app1", "pager") + "?after=0"));
    BOOST_TEST(!p.contains("previous"));
    sizes = {page_ids(p).size()};
    all = page_ids(p);
    for (int guard_pages = 0; p.contains("next") && guard_pages < 10; ++guard_pages) {
        p = body_of(c.request(http::verb::get, target_of(p.at("next"), base)));
        BOOST_TEST(p.contains("previous"));
        auto v = page_ids(p);
        sizes.push_back(v.size());
        all.insert(all.end(), v.begin(), v.end());
    }
    BOOST_TEST(sizes == (std::vector<std::size_t>{100, 100, 50}));
    BOOST_TEST(all == ids);
    // before/after are exclusive.
    p = body_of(c.request(http::verb::get, msgs_path("app1", "pager") + "?before=" + stamps[10]));
    BOOST_TEST(page_ids(p) == std::vector<std::string>(ids.begin(), ids.begin() + 10));
    BOOST_TEST(!p.contains("previous"));
    BOOST_TEST(p.contains("next"));
    p = body_of(c.request(http::verb::get, msgs_path("app1", "pager") + "?after=" + stamps[240]));
    BOOST_TEST(page_ids(p) == std::vector<std::string>(ids.begin() + 241, ids.end()));
    BOOST_TEST(!p.contains("next"));
    p = body_of(c.request(http::verb::get, msgs_path("app1", "pager") + "?after=" + stamps[249]));
    BOOST_TEST(page_ids(p).empty());
    BOOST_TEST(!p.contains("next"));
    BOOST_TEST(p.contains("previous"));
    // Both at once, or a bad timestamp: 400.
    check_error(c.request(http::verb::get, msgs_path("app1", "pager") + "?before=1&after=2"), 400, "bad_request",
                "mutually exclusive");
    check_error(c.request(http::verb::get, msgs_path("app1", "pager") + "?before=abc"), 400, "bad_request", "before");
    check_error(c.request(http::verb::get, msgs_path("app1", "pager") + "?after=1e9"), 400, "bad_request", "after");
}

BOOST_AUTO_TEST_CASE(validation_400_and_413, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    auto path = msgs_path("app1", "v");
    check_error(c.request(http::verb::post, path, "{not json"), 400, "bad_request", "Malformed JSON");
    check_error(c.request(http::verb::post, path, "[1,2]"), 400, "bad_request", "JSON object");
    check_error(c.request(http::verb::post, path, R"({"type":"text","text":"a"})"), 400, "bad_request", "role");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","text":"a"})"), 400, "bad_request", "type");
    check_error(c.request(http::verb::post, path, R"({"role":"bot","type":"text","text":"a"})"), 400, "bad_request",
                "role");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","type":"text","text":5})"), 400, "bad_request",
                "text");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","type":"text"})"), 400, "bad_request", "text");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","type":"image"})"), 400, "bad_request",
                "mediaUrl");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","type":"carousel"})"), 400, "bad_request",
                "items");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","type":"location"})"), 400, "bad_request",
                "coordinates");
    check_error(
        c.request(http::verb::post, path, R"({"role":"appMaker","type":"text","text":"a","metadata":{"a":{}}})"), 400,
        "bad_request", "metadata.a");
    check_error(
        c.request(http::verb::post, path, R"({"role":"appMaker","type":"text","text":"a","actions":[{"text":"x"}]})"),
        400, "bad_request", "actions[0].type");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","type":"text","text":"a","blockChatInput":1})"),
                400, "bad_request", "blockChatInput");
    post(c, "app1", "v", "ok");
    auto act = "/v1.1/apps/app1/appusers/v/conversation/activity";
    check_error(c.request(http::verb::post, act, R"({"role":"appUser","type":"typing:start"})"), 400, "bad_request",
                "role");
    check_error(c.request(http::verb::post, act, R"({"role":"appMaker","type":"typing:maybe"})"), 400, "bad_request",
                "type");
    check_error(c.request(http::verb::post, act, R"({"role":"appMaker"})"), 400, "bad_request", "type");
    check_error(c.request(http::verb::post, act, R"({"role":"appMaker","type":"typing:start","name":1})"), 400,
                "bad_request", "name");
    // Nothing invalid was stored.
    BOOST_TEST(f.srv->record().find("app1", "v")->messages.size() == 1u);

    // 413: decided on Content-Length, before the body is read (we never send it).
    auto ec =
        c.write_raw("POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic_std("acct", "acct-secret") +
                    "\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n");
    BOOST_REQUIRE(!ec);
    response r;
    BOOST_REQUIRE(!c.read(r));
    check_error(r, 413, "request_entity_too_large");
    // Just under the limit is fine.
    client c2(f.srv->port());
    std::string big = text_msg(std::string(100 * 1024 - 100, 'a'));
    BOOST_TEST(c2.request(http::verb::post, path, big).result_int() == 201u);
    std::string too_big = text_msg(std::string(100 * 1024 + 10, 'a'));
    check_error(c2.request(http::verb::post, path, too_big), 413, "request_entity_too_large");
}

// Boost.JSON reads 1e999 or a 400-digit integer as infinity, which has no JSON spelling: stored, it would make
// the post response and every later get_messages page invalid JSON. Any such number, anywhere, is a 400.
BOOST_AUTO_TEST_CASE(non_finite_numbers_are_400, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    auto path = msgs_path("app1", "nf");
    post(c, "app1", "nf", "first");
    const std::string digits400(400, '9');
    struct bad_case {
        std::string body, field;
    };
    std::vector<bad_case> cases = {
        {R"({"role":"appMaker","type":"text","text":"a","metadata":{"n":1e999}})", "metadata.n"},
        {R"({"role":"appMaker","type":"text","text":"a","metadata":{"n":-1e999}})", "metadata.n"},
        {R"({"role":"appMaker","type":"text","text":"a","metadata":{"n":)" + digits400 + "}}", "metadata.n"},
        {R"({"role":"appUser","type":"location","coordinates":{"lat":1e400,"long":2}})", "coordinates.lat"},
        {R"({"role":"appMaker","type":"text","text":"a","x-unknown":[1,{"deep":-)" + digits400 + "}]}",
         "x-unknown[1].deep"},
        {R"({"role":"appMaker","type":"text","text":"a","override":{"whatsapp":{"payload":{"v":[0,1E+999]}}}})",
         "override.whatsapp.payload.v[1]"},
        {R"({"role":"appMaker","type":"carousel","items":[{"title":"t","actions":[{"type":"postback","text":"x",)"
         R"("payload":"p","metadata":{"k":9e9999}}]}]})",
         "items[0].actions[0].metadata.k"},
    };
    for (auto& bc : cases) {
        auto r = c.request(http::verb::post, path, bc.body);
        check_error(r, 400, "bad_request", bc.field);
        check_error(r, 400, "bad_request", "finite");
    }
    // The activity body is checked the same way.
    check_error(c.request(http::verb::post, "/v1.1/apps/app1/appusers/nf/conversation/activity",
                          R"({"role":"appMaker","type":"typing:start","x":1e999})"),
                400, "bad_request", "finite");
    // Nothing was stored and the history is still valid JSON.
    BOOST_REQUIRE(f.srv->record().find("app1", "nf"));
    BOOST_TEST(f.srv->record().find("app1", "nf")->messages.size() == 1u);
    BOOST_TEST(body_of(c.request(http::verb::get, path)).at("messages").as_array().size() == 1u);
    // Tiny numbers (underflow to zero) and large finite ones are fine.
    BOOST_TEST(
        c.request(
             http::verb::post, path,
             R"({"role":"appMaker","type":"text","text":"a","metadata":{"tiny":1e-400,"big":1.7976931348623157e308}})")
            .result_int() == 201u);
    BOOST_TEST(body_of(c.request(http::verb::get, path)).at("messages").as_array().size() == 2u);
}

// A posted number comes back with the exact text it was posted with (not re-formatted, not re-rounded).
BOOST_AUTO_TEST_CASE(posted_numbers_keep_their_text, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    auto path = msgs_path("app1", "num");
    const std::vector<std::string> numbers = {"0.1",
                                              "0.30000000000000004",
                                              "1.2345678901234567",
                                              "1.0",
                                              "1e2",
                                              "-0",
                                              "2.5E-3",
                                              "12345678901234567890123",
                                              "9007199254740993",
                                              "1439220041.5860000001"};
    std::string metadata, extra;
    for (std::size_t i = 0; i < numbers.size(); ++i) {
        metadata += (i ? "," : "") + std::string("\"n") + std::to_string(i) + "\":" + numbers[i];
        extra += (i ? "," : "") + numbers[i];
    }
    std::string body =
        R"({"role":"appMaker","type":"text","text":"n","metadata":{)" + metadata + R"(},"x-list":[)" + extra + "]}";
    auto r = c.request(http::verb::post, path, body);
    BOOST_REQUIRE_MESSAGE(r.result_int() == 201u, r.body());
    auto g = c.request(http::verb::get, path);
    for (auto* raw : {&r.body(), &g.body()}) {
        BOOST_TEST(raw->find("\"metadata\":{" + metadata + "}") != std::string::npos, *raw);
        BOOST_TEST(raw->find("\"x-list\":[" + extra + "]") != std::string::npos, *raw);
    }
    // And the documents are valid JSON holding the same values.
    auto m = body_of(r).at("message").as_object();
    BOOST_TEST(m.at("metadata").at("n0").as_double() == 0.1);
    BOOST_TEST(m.at("metadata").at("n1").as_double() == 0.1 + 0.2);
    BOOST_TEST(body_of(g).at("messages").at(0) == m);

    // Members are copied as written: whitespace inside values and string escapes stay; a repeated key is
    // stored once, with its last value (the one validated); an escaped generated key is still dropped.
    auto r2 = c.request(http::verb::post, path,
                        "{ \"role\" : \"appMaker\" , \"type\":\"text\", \"text\":\"first\", \"x-list\" : [ 1 , 2.50 ] ,"
                        " \"caf\\u00e9\":\"\\u00e9\\n\", \"\\u0072eceived\":5, \"text\" : \"second\" }");
    BOOST_REQUIRE_MESSAGE(r2.result_int() == 201u, r2.body());
    auto& b2 = r2.body();
    BOOST_TEST(b2.find("\"x-list\":[ 1 , 2.50 ]") != std::string::npos, b2);
    BOOST_TEST(b2.find("\"caf\\u00e9\":\"\\u00e9\\n\"") != std::string::npos, b2);
    BOOST_TEST(b2.find("\"text\":\"second\"") != std::string::npos, b2);
    BOOST_TEST(b2.find("first") == std::string::npos, b2);
    BOOST_TEST(b2.find("\\u0072eceived") == std::string::npos, b2);
    auto m2 = body_of(r2).at("message").as_object();
    BOOST_TEST(m2.at("received").as_double() > 1e9);
    BOOST_TEST(m2.at("caf\xc3\xa9").as_string() == "\xc3\xa9\n");
    BOOST_TEST(f.srv->record().find("app1", "num")->texts().back() == "second");
    // Many members (a set finds the repeats): still the last of each.
    std::string many = R"({"role":"appMaker","type":"text","text":"t")";
    for (int i = 0; i < 20; ++i) many += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
    many += R"(,"k3":"again","k19":-1})";
    auto r3 = c.request(http::verb::post, path, many);
    BOOST_REQUIRE_MESSAGE(r3.result_int() == 201u, r3.body());
    BOOST_TEST(r3.body().find("\"k3\":3") == std::string::npos, r3.body());
    BOOST_TEST(r3.body().find("\"k3\":\"again\"") != std::string::npos, r3.body());
    BOOST_TEST(r3.body().find("\"k19\":-1}") != std::string::npos, r3.body());
    BOOST_TEST(body_of(r3).at("message").as_object().size() == 7u + 20u);  // + _id authorId role type received
                                                                           // source text
}

// docs/api-facts.md#models: nested models are checked too, with a description naming the field.
BOOST_AUTO_TEST_CASE(nested_validation_names_the_field, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    auto path = msgs_path("app1", "nv");
    auto msg = [](const std::string& type, const std::string& rest) {
        return R"({"role":"appMaker","type":")" + type + "\"" + (rest.empty() ? "" : "," + rest) + "}";
    };
    const std::string pb = R"({"type":"postback","text":"Go","payload":"P"})";
    auto item = [&](const std::string& actions) { return R"({"title":"T","actions":[)" + actions + "]}"; };
    auto options = [](int n) {
        std::string o;
        for (int i = 0; i < n; ++i)
            o += (i ? "," : "") + std::string(R"({"name":"o)") + std::to_string(i) + R"(","label":"O"})";
        return o;
    };
    struct bad_case {
        std::string body, field;
    };
    std::vector<bad_case> cases = {
        // item actions: 1 to 3, each with type and text
        {msg("carousel", R"("items":[{"title":"T"}])"), "items[0].actions"},
        {msg("carousel", R"("items":[{"title":"T","actions":[]}])"), "items[0].actions"},
        {msg("list", R"("items":[)" + item(pb + "," + pb + "," + pb + "," + pb) + "]"), "items[0].actions"},
        {msg("carousel", R"("items":[{"title":"T","actions":{}}])"), "items[0].actions"},
        {msg("carousel", R"("items":[)" + item(pb) + "," + item(R"({"text":"x"})") + "]"), "items[1].actions[0].type"},
        {msg("carousel", R"("items":[)" + item(R"({"type":"link","uri":"https://a"})") + "]"),
         "items[0].actions[0].text"},
        {msg("carousel", R"("items":[)" + item("7") + "]"), "items[0].actions[0]"},
        {msg("carousel", R"("items":[{"title":"T","description":5,"actions":[)" + pb + "]}]"), "items[0].description"},
        // action fields: types, and what each type needs
        {msg("text", R"("text":"a","actions":[{"type":"postback","text":"x","payload":5}])"), "actions[0].payload"},
        {msg("text", R"("text":"a","actions":[{"type":"link","text":"x","uri":{}}])"), "actions[0].uri"},
        {msg("text", R"("text":"a","actions":[{"type":"postback","text":"x"}])"), "actions[0].payload"},
        {msg("text", R"("text":"a","actions":[{"type":"reply","text":"x"}])"), "actions[0].payload"},
        {msg("text", R"("text":"a","actions":[{"type":"link","text":"x"}])"), "actions[0].uri"},
        {msg("text", R"("text":"a","actions":[{"type":"webview","text":"x","uri":"https://a"}])"),
         "actions[0].fallback"},
        {msg("text", R"("text":"a","actions":[{"type":"buy","text":"x"}])"), "actions[0].amount"},
        {msg("text", R"("text":"a","actions":[{"type":"buy","text":"x","amount":1.5}])"), "actions[0].amount"},
        {msg("text", R"("text":"a","actions":[{"type":"link","text":"x","uri":"u","default":"yes"}])"),
         "actions[0].default"},
        {msg("text", R"("text":"a","actions":[{"type":"link","text":"x","uri":"u","metadata":{"a":[1]}}])"),
         "actions[0].metadata.a"},
        {msg("text", R"("text":"a","actions":[{"type":"link","text":"x","uri":"u","extraChannelOptions":"m"}])"),
         "actions[0].extraChannelOptions"},
        {msg("text", R"("text":"a","actions":[)" + pb + R"(,{"type":"share","openOnReceive":1}])"),
         "actions[1].openOnReceive"},
        // destination, displaySettings, coordinates, location
        {msg("text", R"("text":"a","destination":{"integrationId":5})"), "destination.integrationId"},
        {msg("text", R"("text":"a","destination":{"integrationType":true})"), "destination.integrationType"},
        {msg("text", R"("text":"a","destination":{})"), "destination"},
        {msg("text", R"("text":"a","displaySettings":{"imageAspectRatio":1})"), "displaySettings.imageAspectRatio"},
        {msg("location", R"("coordinates":{"lat":"45","long":2})"), "coordinates.lat"},
        {msg("location", R"("coordinates":{"lat":45})"), "coordinates.long"},
        {msg("text", R"("text":"a","coordinates":{"lat":45,"long":null})"), "coordinates.long"},
        {msg("location", R"("coordinates":{"lat":45,"long":2},"location":{"address":["x"]})"), "location.address"},
        // form fields: type, name and label required; options well-formed
        {msg("form", R"("fields":[{"name":"n","label":"L"}])"), "fields[0].type"},
        {msg("form", R"("fields":[{"type":"text","label":"L"}])"), "fields[0].name"},
        {msg("form", R"("fields":[{"type":"text","name":"n","label":"L"},{"type":"email","name":"e"}])"),
         "fields[1].label"},
        {msg("form", R"("fields":[{"type":5,"name":"n","label":"L"}])"), "fields[0].type"},
        {msg("form", R"("fields":["text"])"), "fields[0]"},
        {msg("form", R"("fields":[{"type":"text","name":"n","label":"L","maxSize":"big"}])"), "fields[0].maxSize"},
        {msg("form", R"("fields":[{"type":"select","name":"n","label":"L","options":[{"name":"a"}]}])"),
         "fields[0].options[0].label"},
        {msg("form", R"("fields":[{"type":"text","name":"n","label":"L"},{"type":"text","name":"n","label":"M"}])"),
         "fields[1].name"},
        {msg("form", R"("fields":[{"type":"select","name":"n","label":"L","options":[{"name":"a","label":"A"},)"
                     R"({"name":"a","label":"B"}]}])"),
         "fields[0].options[1].name"},
        {msg("form", R"("fields":[{"type":"select","name":"n","label":"L","options":[)" + options(21) + "]}]"),
         "fields[0].options"},
        // actions and destination are appMaker-only
        {R"({"role":"appUser","type":"text","text":"a","actions":[)" + pb + "]}", "actions"},
        {R"({"role":"appUser","type":"text","text":"a","destination":{"integrationType":"web"}})", "destination"},
    };
    for (auto& bc : cases) {
        BOOST_TEST_CONTEXT(bc.body)
        {
            check_error(c.request(http::verb::post, path, bc.body), 400, "bad_request", bc.field);
        }
    }
    BOOST_TEST(!f.srv->record().find("app1", "nv"));  // nothing was stored

    // Well-formed nested models are accepted, including values the reference is unsure about.
    std::vector<std::string> good = {
        msg("carousel",
            R"("items":[)" + item(pb) + "," +
                item(pb + R"(,{"type":"share"},{"type":"link","text":"L","uri":"https://a","default":true})") +
                R"(],"displaySettings":{"imageAspectRatio":"panorama"})"),
        msg("text", R"("actions":[{"type":"reply","text":"Yes","payload":"Y","iconUrl":"https://i"},)"
                    R"({"type":"locationRequest","text":"Where?"}])"),
        msg("text", R"("text":"a","actions":[{"type":"webview","text":"W","uri":"https://a","fallback":"https://b",)"
                    R"("size":"tall","openOnReceive":true,"extraChannelOptions":{"messenger":{"r":1}}},)"
                    R"({"type":"buy","text":"Buy","amount":800,"currency":"usd"},{"type":"someday","text":"?"}])"),
        msg("text", R"("text":"a","destination":{"integrationType":"messenger"})"),
        msg("location", R"("coordinates":{"lat":45.5,"long":-73},"location":{"address":"1 Main","name":"Home"})"),
        msg("form",
            R"("fields":[{"type":"text","name":"n","label":"Name","placeholder":"?","minSize":1,"maxSize":1e2},)"
            R"({"type":"select","name":"s","label":"Pick","options":[{"name":"a","label":"A"},{"name":"b","label":"B"}]}],)"
            R"("blockChatInput":true)"),
        msg("form", R"("fields":[{"type":"select","name":"s","label":"Pick","options":[)" + options(20) + "]}]"),
        R"({"role":"appUser","type":"text","text":"from the user","actions":[]})",
    };
    for (auto& body : good) {
        auto r = c.request(http::verb::post, path, body);
        BOOST_TEST(r.result_int() == 201u, body << " -> " << r.body());
    }
}

// HEAD: the same status line and headers as the request would get, never a body.
BOOST_AUTO_TEST_CASE(head_responses_have_no_body, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    for (auto target : {std::string("/v1.1/apps/app1/appusers/u/messages"), std::string("/nowhere")}) {
        client c(f.srv->port());
        BOOST_REQUIRE(!c.write_raw("HEAD " + target + " HTTP/1.1\r\nHost: x\r\nAuthorization: " +
                                   basic_std("acct", "acct-secret") + "\r\nConnection: close\r\n\r\n"));
        auto raw = read_until_closed(c);
        auto end = raw.find("\r\n\r\n");
        BOOST_REQUIRE_MESSAGE(end != std::string::npos, raw);
        BOOST_TEST(raw.size() == end + 4, "bytes after the HEAD response's headers: " << raw.substr(end + 4));
        BOOST_TEST(raw.rfind(target.size() > 10 ? "HTTP/1.1 405 " : "HTTP/1.1 404 ", 0) == 0u, raw);
        BOOST_TEST(raw.find("Content-Length: ") != std::string::npos, raw);
    }
    // Keep-alive: the next response on the connection starts right after the HEAD response's headers.
    client c(f.srv->port());
    BOOST_REQUIRE(!c.send(http::verb::head, "/nowhere", {}, basic_std("acct", "acct-secret")));
    http::response_parser<http::empty_body> hp;
    hp.skip(true);
    BOOST_REQUIRE(!c.run([&](auto h) { http::async_read(*c.stream, c.buf, hp, h); }));
    BOOST_TEST(hp.get().result_int() == 404u);
    check_error(c.request(http::verb::get, "/nowhere"), 404, "not_found");
}

BOOST_AUTO_TEST_SUITE_END()

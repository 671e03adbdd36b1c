// SPDX-License-Identifier: BSL-1.0
// Stored messages: whatever is posted, responses stay valid JSON holding exactly the posted members; and the
// mock's own text codecs behind them (mock/codec.hpp): `received` stamps, cursors, members split as written.

#include "engine_test.hpp"

#include "mock/codec.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace mock_engine_test;
using boost::system::error_code;

namespace {

bool all_finite(const json::value& v)
{
    if (v.is_double()) return std::isfinite(v.get_double());
    if (auto* o = v.if_object())
        return std::all_of(o->begin(), o->end(), [](const json::key_value_pair& kv) { return all_finite(kv.value()); });
    if (auto* a = v.if_array())
        return std::all_of(a->begin(), a->end(), [](const json::value& x) { return all_finite(x); });
    return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(messages)

// Whatever is posted (seeded mutations of valid bodies: broken JSON, odd numbers, escapes, repeated keys),
// every response and every page is valid JSON with finite numbers, and a stored message holds exactly the
// posted members. Driven through the engine (no sockets), so it is quick and deterministic.
BOOST_AUTO_TEST_CASE(stored_messages_stay_valid_json)
{
    mock::server_params p;  // no keys: auth off
    mock::engine e(p);
    const std::vector<std::string> seeds = {
        R"({"role":"appMaker","type":"text","text":"hi","metadata":{"a":1.5,"b":-2e-3,"c":true,"d":"x"}})",
        R"({ "role" : "appUser" , "type":"text", "text":"caf\u00e9 \"q\" \\", "x":[1,[2,{"y":3.25}]] })",
        R"({"role":"appMaker","type":"carousel","items":[{"title":"T","actions":[{"type":"postback","text":"a",)"
        R"("payload":"p"}]}]})",
        R"({"role":"appMaker","type":"location","coordinates":{"lat":45.5,"long":-73.25},"location":{"name":"n"}})",
        R"({"role":"appMaker","type":"text","text":"a","text":"b","k":1,"k":[2]})",
        R"({"role":"appMaker","type":"text","text":"n","n":123456789012345678901234567890,"m":0.1,"o":1E2})",
    };
    const std::string alphabet = "{}[]\":,0123456789.eE+- \\utrnfla";
    std::mt19937 rng(20240601);
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    int stored = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string body = seeds[pick(seeds.size())];
        for (std::size_t k = pick(4); k > 0; --k) {
            std::size_t pos = pick(body.size() + 1);
            char ch = alphabet[pick(alphabet.size())];
            switch (pick(3)) {
            case 0: body.insert(pos, 1, ch); break;
            case 1:
                if (pos < body.size()) body.erase(pos, 1);
                break;
            default:
                if (pos < body.size()) body[pos] = ch;
            }
        }
        mock::http_request r;
        r.method = "POST";
        r.target = "/v1.1/apps/a/appusers/u/messages";
        r.body = body;
        mock::http_response out;
        e.handle(r, out);
        error_code ec;
        auto v = json::parse(out.body, ec);
        BOOST_TEST_CONTEXT("body " << body << " -> " << out.status << " " << out.body)
        {
            BOOST_REQUIRE(!ec);
            BOOST_TEST(all_finite(v));
            if (out.status != 201u) continue;
            ++stored;
            auto posted = json::parse(body).as_object();  // Boost: a repeated key keeps the last value
            auto& m = v.at("message").as_object();
            std::size_t own = 0;
            for (auto& [k, val] : posted) {
                if (k == "role" || k == "type" || k == "_id" || k == "authorId" || k == "received" || k == "source")
                    continue;
                ++own;
                if (k == "items" || k == "actions") continue;  // as posted, plus an _id in each (messages below)
                BOOST_TEST((m.contains(k) && m.at(k) == val), "member " << std::string_view(k));
            }
            BOOST_TEST(m.size() == own + 6u);  // + _id authorId role type received source
        }
    }
    BOOST_TEST(stored > 300);
    mock::http_request g;
    g.method = "GET";
    g.target = "/v1.1/apps/a/appusers/u/messages";
    mock::http_response page;
    e.handle(g, page);
    BOOST_TEST(page.status == 200u);
    error_code ec;
    auto pv = json::parse(page.body, ec);
    BOOST_REQUIRE(!ec);
    BOOST_TEST(all_finite(pv));
    BOOST_TEST(pv.at("messages").as_array().size() == std::min<std::size_t>(100, static_cast<std::size_t>(stored)));
}

BOOST_AUTO_TEST_CASE(received_stamps_and_cursors)
{
    namespace md = smooch::mock::detail;
    auto stamp = [](std::int64_t ms) {
        std::string s;
        md::append_timestamp(s, ms);
        return s;
    };
    BOOST_TEST(stamp(1439220041586) == "1439220041.586");
    BOOST_TEST(stamp(1439220041005) == "1439220041.005");
    BOOST_TEST(stamp(1439220041000) == "1439220041.000");
    BOOST_TEST(stamp(7) == "0.007");
    struct cursor_case {
        std::string text;
        std::int64_t ms;
        bool extra;
    };
    for (auto& c : std::vector<cursor_case>{{"1439220041.586", 1439220041586, false},
                                            {"1439220041", 1439220041000, false},
                                            {"1.5", 1500, false},
                                            {"1.5000", 1500, false},
                                            {"1.5001", 1500, true},
                                            {"0.0009", 0, true},
                                            {"999999999999", 999999999999000, false}}) {
        BOOST_TEST_CONTEXT(c.text)
        {
            auto cur = md::parse_cursor(c.text);
            BOOST_REQUIRE(cur);
            BOOST_TEST(cur->ms == c.ms);
            BOOST_TEST(cur->extra == c.extra);
        }
    }
    for (auto bad : {"", ".", "1.", ".5", "-1", "+1", "1e3", "1.5.0", "0x10", "1 ", "1000000000000"})
        BOOST_TEST(!md::parse_cursor(bad), "accepted '" << bad << "'");
}

// Members are split as written, so a stored message repeats the posted bytes; text the parser would reject
// is refused rather than guessed at.
BOOST_AUTO_TEST_CASE(members_split_as_written)
{
    namespace md = smooch::mock::detail;
    md::raw_members m;
    BOOST_REQUIRE(md::split_members(R"( { "a" : 1.50 , "b\u0063":[1, {"x":"]}"}] ,"s":"q\"}" , "n":null}  )", m));
    BOOST_REQUIRE(m.size() == 4u);
    BOOST_TEST(m[0].key == "a");
    BOOST_TEST(m[0].value == "1.50");
    BOOST_TEST(m[1].key == "bc");
    BOOST_TEST(m[1].key_token == R"("b\u0063")");
    BOOST_TEST(m[1].value == R"([1, {"x":"]}"}])");
    BOOST_TEST(m[2].value == R"("q\"}")");
    BOOST_TEST(m[3].value == "null");
    md::raw_members empty;
    BOOST_TEST(md::split_members(" {} ", empty));
    BOOST_TEST(empty.empty());
    for (auto bad : {"", "[]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":1"}) {
        md::raw_members r;
        BOOST_TEST(!md::split_members(bad, r), "accepted '" << bad << "'");
    }
}

// conversation_activity: its body is checked (after auth and the rate limit) before the conversation is looked
// up, so a bad body for a user without a conversation is a 400, not a 404.
// What the API adds to a posted message (docs/api-facts.md#ids-of-items-and-actions, #post-message): an `_id` on
// every message item and action (nested ones too; a posted `_id` there is replaced), and `source` {"type":"api"};
// everything else as posted, byte for byte.
BOOST_AUTO_TEST_CASE(items_and_actions_get_ids_and_messages_a_source)
{
    driver d;
    const std::string carousel =
        R"({"role":"appMaker","type":"carousel","items":[{"title":"Tacos","_id":"mine","n":0.1,)"
        R"("actions":[{"text":"Select","type":"postback","payload":"TACOS"},{"text":"More","type":"link",)"
        R"("uri":"http://example.org"}]},{"title":"B","actions":[{"type":"share"}]}],)"
        R"("actions":[{"text":"Top","type":"reply","payload":"p"}],"source":{"type":"messenger"}})";
    auto r = d.send("POST", msgs_path("app1", "u"), carousel);
    BOOST_TEST_REQUIRE(r.status == 201u, r.body);
    const auto m = body_of(r).at("message").as_object();
    BOOST_TEST(m.at("source") == json::parse(R"({"type":"api"})"));  // the posted one is not the message's source
    std::set<std::string> ids{std::string(m.at("_id").as_string())};
    auto id_of = [&](const json::value& v) {
        const auto& o = v.as_object();
        BOOST_TEST_REQUIRE(o.contains("_id"));
        const std::string_view id = o.at("_id").as_string();
        BOOST_TEST((id.size() == 24u && id.find_first_not_of("0123456789abcdef") == std::string_view::npos), id);
        BOOST_TEST(ids.insert(std::string(o.at("_id").as_string())).second, "ids are unique");
        return o;
    };
    const auto& items = m.at("items").as_array();
    BOOST_TEST_REQUIRE(items.size() == 2u);
    auto first = id_of(items[0]);
    BOOST_TEST(first.at("title") == "Tacos");
    BOOST_TEST(first.size() == 4u);                              // _id, title, n, actions: the posted _id is gone
    BOOST_TEST(r.body.find(R"("n":0.1)") != std::string::npos);  // as written
    for (const auto& a : first.at("actions").as_array()) id_of(a);
    auto second = id_of(items[1]);
    for (const auto& a : second.at("actions").as_array()) id_of(a);
    for (const auto& a : m.at("actions").as_array()) BOOST_TEST(id_of(a).at("payload") == "p");
    BOOST_TEST(ids.size() == 7u);  // the message, 2 items, 3 item actions, 1 action
    // The stored message is what get_messages pages return.
    auto page = body_of(d.send("GET", msgs_path("app1", "u")));
    BOOST_TEST(page.at("messages").as_array()[0].as_object() == m);
    // A text message: source, and no items or actions appear from nowhere.
    auto t = body_of(d.post("app1", "u", "plain")).at("message").as_object();
    BOOST_TEST(t.at("source") == json::parse(R"({"type":"api"})"));
    BOOST_TEST(!t.contains("items"));
    BOOST_TEST(!t.contains("actions"));
}

BOOST_AUTO_TEST_CASE(activity_bodies)
{
    driver d;
    const std::string nobody = "/v1.1/apps/app1/appusers/nobody/conversation/activity";
    struct bad_case {
        std::string body, description;
    };
    for (auto& c : std::vector<bad_case>{
             {R"({"role":"appUser","type":"typing:start"})", "role must be appMaker"},
             {R"({"type":"typing:start"})", "role is required"},
             {R"({"role":5,"type":"typing:start"})", "role must be a string, got a number"},
             {R"({"role":"appMaker"})", "type is required"},
             {R"({"role":"appMaker","type":"typing:maybe"})",
              "type must be typing:start, typing:stop or conversation:read"},
             {R"({"role":"appMaker","type":"typing:start","name":1})", "name must be a string, got a number"},
             {R"({"role":"appMaker","type":"typing:stop","avatarUrl":null})", "avatarUrl must be a string, got null"},
             {R"({"role":"appMaker","type":"typing:stop","x":1e999})",
              "x must be a finite number: it is beyond the range of a double"},
             {"[]", "The body must be a JSON object"}}) {
        BOOST_TEST_CONTEXT(c.body) { check_error(d.send("POST", nobody, c.body), 400, "bad_request", c.description); }
    }
    check_error(d.send("POST", nobody, R"({"role":"appMaker","type":"conversation:read","name":"Bot"})"), 404,
                "conversation_not_found", "No conversation exists for this app user");
    BOOST_REQUIRE(d.post("app1", "u").status == 201u);
    auto r = d.send("POST", "/v1.1/apps/app1/appusers/u/conversation/activity",
                    R"({"role":"appMaker","type":"typing:start"})");
    BOOST_TEST(r.status == 200u);
    BOOST_TEST(body_of(r).at("conversation").at("unreadCount").as_int64() == 1);
}

BOOST_AUTO_TEST_SUITE_END()

// SPDX-License-Identifier: BSL-1.0
// Parsing one campaign line: what is accepted, how the key reaches metadata, and a clear reason for each bad line.

#include <boost/test/unit_test.hpp>

#include "dispatch/campaign.hpp"

#include <smooch/json.hpp>

using namespace smooch;
using namespace smooch::dispatch;
using namespace smooch::dispatch::detail;

namespace {

const std::string id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::string rejected(std::string_view text, std::string_view app = "app_1")
{
    auto r = parse_line(text, 7, app, id);
    if (auto* x = std::get_if<rejection>(&r)) return x->description;
    return "(accepted)";
}

/// The body the sender will post, read back from its JSON text.
message_post sent(const prepared_line& p)
{
    BOOST_REQUIRE(p.body);
    return smooch::parse<message_post>(p.body->json());
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_line_is_parsed_and_its_default_key_merged_into_metadata)
{
    auto r = parse_line(R"({"user":"u 1","message":{"role":"appMaker","type":"text","text":"hi","metadata":{"a":1}}})",
                        7, "app_1", id);
    auto* p = std::get_if<prepared_line>(&r);
    BOOST_REQUIRE(p);
    BOOST_TEST(p->line == 7u);
    BOOST_TEST(p->app == "app_1");
    BOOST_TEST(p->user == "u 1");
    BOOST_TEST(p->key == "0123456789abcdef-7");
    BOOST_TEST(p->key_derived);
    const auto body = sent(*p);
    BOOST_TEST(body.metadata->at("a").as_int64() == 1);
    BOOST_TEST(body.metadata->at(key_field).as_string() == "0123456789abcdef-7");
    BOOST_TEST(body.text.value() == "hi");
}

BOOST_AUTO_TEST_CASE(the_line_s_app_and_key_win)
{
    auto r = parse_line(
        R"({"user":"u","app":"app_2","key":"camp-42","message":{"role":"appMaker","type":"text","text":"x"}})", 1,
        "app_1", id);
    auto* p = std::get_if<prepared_line>(&r);
    BOOST_REQUIRE(p);
    BOOST_TEST(p->app == "app_2");
    BOOST_TEST(p->key == "camp-42");
    BOOST_TEST(sent(*p).metadata->at(key_field).as_string() == "camp-42");
}

BOOST_AUTO_TEST_CASE(the_error_member_of_a_failures_file_is_ignored)
{
    auto r = parse_line(R"({"user":"u","message":{"role":"appMaker","type":"text","text":"x"},"error":{"line":3}})", 1,
                        "app_1", id);
    BOOST_TEST(std::holds_alternative<prepared_line>(r));
}

BOOST_AUTO_TEST_CASE(each_bad_line_has_a_reason_naming_what_is_wrong)
{
    BOOST_TEST(rejected("") == "blank line");
    BOOST_TEST(rejected("{\"user\":").starts_with("not valid JSON"));
    BOOST_TEST(rejected("[1,2]") == "a campaign line must be a JSON object");
    BOOST_TEST(rejected(R"({"message":{"role":"appMaker","type":"text","text":"x"}})") ==
               "user: required (a non-empty string)");
    BOOST_TEST(rejected(R"({"user":5,"message":{}})") == "user: must be a string");
    BOOST_TEST(rejected(R"({"user":"u"})") == "message: required (a MessagePost object)");
    BOOST_TEST(rejected(R"({"user":"u","message":"hi"})") == "message: must be an object");
    BOOST_TEST(rejected(R"({"user":"u","message":{"role":"appMaker","type":"text","text":"x"}})", "") ==
               "app: required (the line names none and no default app was given)");
    BOOST_TEST(rejected(R"({"user":"u","usr":"v","message":{}})").starts_with("unknown member \"usr\""));
    BOOST_TEST(rejected(R"({"user":"u","key":"","message":{"role":"appMaker","type":"text","text":"x"}})") ==
               "key: must not be empty");
    BOOST_TEST(rejected(R"({"user":"u","key":")" + std::string(300, 'k') +
                        R"(","message":{"role":"appMaker","type":"text","text":"x"}})") ==
               "key: longer than 256 bytes");
    // A key in the form of a derived key could be another line's key.
    BOOST_TEST(
        rejected(R"({"user":"u","key":"0123456789abcdef-3","message":{"role":"appMaker","type":"text","text":"x"}})")
            .starts_with("key: must not start with \"0123456789abcdef-\""));
    // Bytes that are not UTF-8, raw or as a lone surrogate escape, are refused by the JSON parser: parse_line
    // relies on that instead of serializing each message again to check its UTF-8.
    BOOST_TEST(rejected("{\"user\":\"u\",\"message\":{\"role\":\"appMaker\",\"type\":\"text\",\"text\":\"\xff\"}}")
                   .starts_with("not valid JSON"));
    BOOST_TEST(rejected(R"({"user":"u\ud800","message":{"role":"appMaker","type":"text","text":"x"}})")
                   .starts_with("not valid JSON"));
    BOOST_TEST(
        rejected(
            "{\"user\":\"u\",\"key\":\"k\xc3\",\"message\":{\"role\":\"appMaker\",\"type\":\"text\",\"text\":\"x\"}}")
            .starts_with("not valid JSON"));
    // Validation of the message itself, by the client's field checks.
    BOOST_TEST(rejected(R"({"user":"u","message":{"role":"appMaker","type":"text"}})").starts_with("message.text"));
    BOOST_TEST(
        rejected(R"({"user":"u","message":{"role":"appMaker","type":"text","text":7}})").starts_with("message.text"));
}

BOOST_AUTO_TEST_CASE(metadata_that_uses_the_reserved_name_is_rejected)
{
    BOOST_TEST(
        rejected(
            R"({"user":"u","message":{"role":"appMaker","type":"text","text":"x","metadata":{"dispatchKey":"mine"}}})") ==
        "message.metadata.dispatchKey: reserved for the dispatch key");
}

BOOST_AUTO_TEST_CASE(to_json_line_round_trips)
{
    campaign_line l;
    l.user = "u";
    l.app = "app_9";
    l.key = "k";
    l.message.text = "hello";
    auto r = parse_line(to_json_line(l), 3, "", id);
    auto* p = std::get_if<prepared_line>(&r);
    BOOST_REQUIRE(p);
    BOOST_TEST(p->app == "app_9");
    BOOST_TEST(p->key == "k");
    BOOST_TEST(sent(*p).text.value() == "hello");
}

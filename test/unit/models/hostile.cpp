// SPDX-License-Identifier: BSL-1.0
// Malformed and hostile input: nothing crashes, nothing defaults silently, every error names where it is.

#include <smooch/json.hpp>
#include <smooch/models.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>

namespace bj = boost::json;
using namespace smooch;

namespace {

// Parses `text` as T, expecting failure with `code`; returns the diagnostic message.
template <class T>
std::string parse_error(std::string_view text, client_errc code)
{
    diagnostics diag;
    auto r = parse<T>(text, diag);
    BOOST_TEST(!r.has_value(), "expected an error for " << text.substr(0, 200));
    if (r.has_value()) return {};
    BOOST_TEST((r.error() == code), "wrong error " << r.error().message() << " for " << text.substr(0, 200));
    BOOST_TEST(!diag.message.empty());
    return diag.message;
}

std::string messages_error(std::string_view text)
{
    return parse_error<get_messages_response>(text, client_errc::unexpected_json);
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

const std::string valid_page = R"({"conversation":{"_id":"c","unreadCount":2},"messages":[
  {"_id":"m1","role":"appUser","type":"text","text":"h\u00e9llo","received":1439220041.586,"metadata":{"a":1},
   "actions":[{"type":"reply","text":"Yes","payload":"Y"}],"quotedMessage":{"type":"message","content":{"_id":"q"}}},
  {"_id":"m2","role":"appMaker","type":"location","coordinates":{"lat":45.5,"long":-73.5},"received":1439220042}],
  "next":"n","previous":"p"})";

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile)

BOOST_AUTO_TEST_CASE(the_fixture_is_valid)
{
    diagnostics diag;
    BOOST_TEST_REQUIRE(parse<get_messages_response>(valid_page, diag).has_value(), diag.message);
}

BOOST_AUTO_TEST_CASE(every_truncation_is_invalid_json)
{
    // Every strict prefix of an object's text is incomplete or broken.
    for (std::size_t n = 0; n < valid_page.size(); ++n) {
        diagnostics diag;
        auto r = parse<get_messages_response>(std::string_view(valid_page).substr(0, n), diag);
        BOOST_TEST_REQUIRE(!r.has_value(), "prefix of length " << n << " parsed");
        BOOST_TEST_REQUIRE((r.error() == client_errc::invalid_json), n << ": " << diag.message);
        BOOST_TEST_REQUIRE(contains(diag.message, "invalid JSON at offset "), diag.message);
    }
    const std::string msg = parse_error<message>(R"({"_id":"abc)", client_errc::invalid_json);
    BOOST_TEST(contains(msg, "incomplete JSON"), msg);
    BOOST_TEST(parse_error<message>("", client_errc::invalid_json) ==
               "invalid JSON at offset 0: incomplete JSON (the text ends before the JSON value does)");
}

BOOST_AUTO_TEST_CASE(syntax_errors)
{
    for (const char* bad : {"{",
                            "}",
                            "{\"a\"}",
                            "{\"a\":}",
                            "{\"a\":1,}",
                            "[1,]",
                            "{'a':1}",
                            "{\"a\":01}",
                            "{\"a\":1}x",
                            "{} {}",
                            "{/*c*/}",
                            "{\"a\":NaN}",
                            "{\"a\":Infinity}",
                            "{\"a\":-}",
                            "{\"a\":1.}",
                            "{\"a\":.5}",
                            "{\"a\":\"\\x\"}",
                            "{\"a\":\"\x01\"}",
                            "nul",
                            "tru"}) {
        const std::string msg = parse_error<message>(bad, client_errc::invalid_json);
        BOOST_TEST(contains(msg, "invalid JSON at offset "), msg);
    }
    const std::string extra = parse_error<message>("{}  x", client_errc::invalid_json);
    BOOST_TEST(contains(extra, "offset 4"), extra);
    BOOST_TEST(contains(extra, "text after the JSON value"), extra);
    // Trailing whitespace is fine.
    diagnostics diag;
    BOOST_TEST(parse<message>(" {} \n\t", diag).has_value(), diag.message);
}

BOOST_AUTO_TEST_CASE(deep_nesting)
{
    for (std::size_t depth : {33u, 100u, 10'000u}) {
        const std::string open(depth, '[');
        const std::string msg = parse_error<message>(open, client_errc::invalid_json);
        BOOST_TEST(contains(msg, "nesting deeper than 32 levels"), msg);
        const std::string closed = open + std::string(depth, ']');
        BOOST_TEST(contains(parse_error<message>(closed, client_errc::invalid_json), "too deep"));
        std::string objects;
        for (std::size_t i = 0; i < depth; ++i) objects += "{\"a\":";
        BOOST_TEST(contains(parse_error<message>(objects, client_errc::invalid_json), "too deep"));
    }
    // Inside a raw-JSON field the limit applies the same way; 32 levels in total are fine.
    std::string meta = R"({"metadata":)";
    for (int i = 0; i < 31; ++i) meta += "{\"a\":";
    meta += "1";
    for (int i = 0; i < 31; ++i) meta += "}";
    meta += "}";
    diagnostics diag;
    auto ok = parse<message>(meta, diag);
    BOOST_TEST(ok.has_value(), diag.message);
    BOOST_TEST(
        contains(parse_error<message>(R"({"metadata":{"a":)" + meta + "}}", client_errc::invalid_json), "too deep"));
}

BOOST_AUTO_TEST_CASE(deep_values_built_in_code)
{
    // A caller's own boost::json::value is not limited by the parser; the reader stops on its own.
    bj::value v = bj::object{{"_id", "leaf"}};
    for (int i = 0; i < 200; ++i) {
        bj::object q;
        q["type"] = "message";
        q["content"] = std::move(v);
        v = bj::object{{"quotedMessage", std::move(q)}};
    }
    diagnostics diag;
    auto r = from_json<message>(v, diag);
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST((r.error() == client_errc::unexpected_json));
    BOOST_TEST(contains(diag.message, "nesting too deep"), diag.message);
    BOOST_TEST(contains(diag.message, "quotedMessage.content.quotedMessage"), diag.message);
}

BOOST_AUTO_TEST_CASE(huge_numbers)
{
    const std::string digits400(400, '9');
    // Beyond the double range: a clear error, never infinity.
    for (const std::string& n : {digits400, std::string("1e999"), std::string("-1e999"), std::string("1E309"),
                                 "-" + digits400, digits400 + ".5"}) {
        const std::string msg = parse_error<message>(R"({"received":)" + n + "}", client_errc::invalid_json);
        BOOST_TEST(msg == "invalid JSON at offset 12: number out of the range of a double");
        BOOST_TEST(contains(parse_error<message>(R"({"metadata":{"x":[)" + n + "]}}", client_errc::invalid_json),
                            "out of the range"));
    }

    diagnostics diag;
    // Within the range: the correctly rounded double.
    const std::string digits300 = "1" + std::string(300, '0');
    auto big = parse<message>(R"({"received":)" + digits300 + "}", diag);
    BOOST_TEST_REQUIRE(big.has_value(), diag.message);
    BOOST_TEST(*big->received == 1e300);
    auto max = parse<message>(R"({"received":1.7976931348623157e308})", diag);
    BOOST_TEST_REQUIRE(max.has_value(), diag.message);
    BOOST_TEST(*max->received == std::numeric_limits<double>::max());
    // Underflow reads as zero (the nearest double); subnormals are kept exactly.
    auto tiny = parse<message>(R"({"received":1e-400})", diag);
    BOOST_TEST_REQUIRE(tiny.has_value(), diag.message);
    BOOST_TEST(*tiny->received == 0.0);
    auto sub = parse<message>(R"({"received":4.9406564584124654e-324})", diag);
    BOOST_TEST_REQUIRE(sub.has_value(), diag.message);
    BOOST_TEST(*sub->received == std::numeric_limits<double>::denorm_min());
    // Integers beyond 2^64 are numbers: fine for a double field...
    auto u = parse<message>(R"({"received":18446744073709551616})", diag);
    BOOST_TEST_REQUIRE(u.has_value(), diag.message);
    BOOST_TEST(*u->received == 18446744073709551616.0);
    // ...but not for an integer field.
    BOOST_TEST(messages_error(R"({"conversation":{"unreadCount":)" + digits300 + "}}") ==
               "conversation.unreadCount: expected integer in 64-bit range");
    BOOST_TEST(messages_error(R"({"conversation":{"unreadCount":18446744073709551615}})") ==
               "conversation.unreadCount: expected integer in 64-bit range");
    BOOST_TEST(messages_error(R"({"conversation":{"unreadCount":9223372036854775808}})") ==
               "conversation.unreadCount: expected integer in 64-bit range");
    BOOST_TEST(messages_error(R"({"conversation":{"unreadCount":9.3e18}})") ==
               "conversation.unreadCount: expected integer in 64-bit range");
    BOOST_TEST(messages_error(R"({"conversation":{"unreadCount":-9.3e18}})") ==
               "conversation.unreadCount: expected integer in 64-bit range");
}

BOOST_AUTO_TEST_CASE(integer_fields)
{
    diagnostics diag;
    const auto count = [&](std::string_view n) {
        auto r = parse<conversation>(R"({"unreadCount":)" + std::string(n) + "}", diag);
        BOOST_TEST_REQUIRE(r.has_value(), n << ": " << diag.message);
        return r->unread_count.value();
    };
    BOOST_TEST(count("0") == 0);
    BOOST_TEST(count("-0") == 0);
    BOOST_TEST(count("3") == 3);
    BOOST_TEST(count("3.0") == 3);
    BOOST_TEST(count("1e2") == 100);
    BOOST_TEST(count("-7") == -7);
    BOOST_TEST(count("9223372036854775807") == std::numeric_limits<std::int64_t>::max());
    BOOST_TEST(count("-9223372036854775808") == std::numeric_limits<std::int64_t>::min());
    BOOST_TEST(count("-9.223372036854775808e18") == std::numeric_limits<std::int64_t>::min());
    for (const char* bad : {"1.5", "-0.25", "1e-1", "\"1\"", "true", "[]", "{}"}) {
        auto r = parse<conversation>(R"({"unreadCount":)" + std::string(bad) + "}", diag);
        BOOST_TEST_REQUIRE(!r.has_value(), bad);
        BOOST_TEST(diag.message == "unreadCount: expected integer", bad);
    }
}

BOOST_AUTO_TEST_CASE(invalid_utf8)
{
    for (const std::string& bytes : {std::string("\xff"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
                                     std::string("\xf4\x90\x80\x80"), std::string("\x80"), std::string("\xe2\x82z")}) {
        const std::string text = R"({"text":"ok )" + bytes + R"("})";
        const std::string msg = parse_error<message>(text, client_errc::invalid_json);
        BOOST_TEST(contains(msg, "invalid UTF-8 byte 0x"), msg);
        BOOST_TEST(contains(msg, "at offset 12"), msg);  // the first bad byte, after `{"text":"ok `
    }
    // Invalid bytes as a key, and cut off at the end of the text.
    BOOST_TEST(contains(parse_error<message>("{\"\xfe\":1}", client_errc::invalid_json), "UTF-8"));
    BOOST_TEST(contains(parse_error<message>("{\"text\":\"\xe2\x82", client_errc::invalid_json), "invalid JSON"));
    // Valid multi-byte text and escapes are fine, including an escaped NUL.
    diagnostics diag;
    auto ok = parse<message>(R"({"text":"caf\u00e9 )"
                             "\xf0\x9f\x98\x80"
                             R"( \u0000 \ud83d\ude00"})",
                             diag);
    BOOST_TEST_REQUIRE(ok.has_value(), diag.message);
    BOOST_TEST(*ok->text == std::string("caf\xc3\xa9 \xf0\x9f\x98\x80 \0 \xf0\x9f\x98\x80", 17));
}

BOOST_AUTO_TEST_CASE(wrong_types_name_the_path)
{
    struct row {
        const char* json;
        const char* message;
    };
    const row rows[] = {
        {R"(null)", "(root): expected object"},
        {R"([])", "(root): expected object"},
        {R"("x")", "(root): expected object"},
        {R"(1)", "(root): expected object"},
        {R"({"messages":{}})", "messages: expected array"},
        {R"({"messages":"none"})", "messages: expected array"},
        {R"({"conversation":[]})", "conversation: expected object"},
        {R"({"conversation":{"unreadCount":1.5}})", "conversation.unreadCount: expected integer"},
        {R"({"conversation":{"_id":7}})", "conversation._id: expected string"},
        {R"({"next":false})", "next: expected string"},
        {R"({"previous":{}})", "previous: expected string"},
        {R"({"messages":[null]})", "messages[0]: expected object"},
        {R"({"messages":[{}, 3]})", "messages[1]: expected object"},
        {R"({"messages":[{"received":"yesterday"}]})", "messages[0].received: expected number"},
        {R"({"messages":[{},{},{},{"received":true}]})", "messages[3].received: expected number"},
        {R"({"messages":[{"role":1}]})", "messages[0].role: expected string"},
        {R"({"messages":[{"type":["text"]}]})", "messages[0].type: expected string"},
        {R"({"messages":[{"metadata":[]}]})", "messages[0].metadata: expected object"},
        {R"({"messages":[{"metadata":"{}"}]})", "messages[0].metadata: expected object"},
        {R"({"messages":[{"blockChatInput":"true"}]})", "messages[0].blockChatInput: expected boolean"},
        {R"({"messages":[{"submitted":0}]})", "messages[0].submitted: expected boolean"},
        {R"({"messages":[{"source":"api"}]})", "messages[0].source: expected object"},
        {R"({"messages":[{"source":{"type":5}}]})", "messages[0].source.type: expected string"},
        {R"({"messages":[{"source":{"originalMessageTimestamp":"1"}}]})",
         "messages[0].source.originalMessageTimestamp: expected number"},
        {R"({"messages":[{"items":{}}]})", "messages[0].items: expected array"},
        {R"({"messages":[{"items":[{"actions":[{},{"amount":2.5}]}]}]})",
         "messages[0].items[0].actions[1].amount: expected integer"},
        {R"({"messages":[{"items":[{"actions":[{"extraChannelOptions":true}]}]}]})",
         "messages[0].items[0].actions[0].extraChannelOptions: expected object"},
        {R"({"messages":[{"actions":[{"default":"yes"}]}]})", "messages[0].actions[0].default: expected boolean"},
        {R"({"messages":[{"actions":[{"_id":{}}]}]})", "messages[0].actions[0]._id: expected string"},
        {R"({"messages":[{"displaySettings":{"imageAspectRatio":1}}]})",
         "messages[0].displaySettings.imageAspectRatio: expected string"},
        {R"({"messages":[{"fields":[{"options":[{"name":1}]}]}]})",
         "messages[0].fields[0].options[0].name: expected string"},
        {R"({"messages":[{"fields":[{"select":[{"_id":[]}]}]}]})",
         "messages[0].fields[0].select[0]._id: expected string"},
        {R"({"messages":[{"fields":[{"selectSize":"2"}]}]})", "messages[0].fields[0].selectSize: expected integer"},
        {R"({"messages":[{"coordinates":{"lat":"45"}}]})", "messages[0].coordinates.lat: expected number"},
        {R"({"messages":[{"coordinates":{"long":null,"lat":[]}}]})", "messages[0].coordinates.lat: expected number"},
        {R"({"messages":[{"location":[]}]})", "messages[0].location: expected object"},
        {R"({"messages":[{"quotedMessage":{"content":[]}}]})", "messages[0].quotedMessage.content: expected object"},
        {R"({"messages":[{"quotedMessage":{"content":{"quotedMessage":{"content":{"received":"x"}}}}}]})",
         "messages[0].quotedMessage.content.quotedMessage.content.received: expected number"},
    };
    for (const row& r : rows) BOOST_TEST(messages_error(r.json) == r.message, r.json);

    BOOST_TEST(parse_error<message_response>(R"({"extraMessages":[{"text":1}]})", client_errc::unexpected_json) ==
               "extraMessages[0].text: expected string");
    BOOST_TEST(parse_error<message_post>(R"({"role":"appMaker","type":"text","override":[]})",
                                         client_errc::unexpected_json) == "override: expected object");
    BOOST_TEST(parse_error<message_post>(R"({"role":"appMaker","type":"text","fields":[{"type":"text","name":"n"}]})",
                                         client_errc::unexpected_json) == "fields[0].label: required key missing");
    BOOST_TEST(parse_error<message_post>(R"({"type":"text"})", client_errc::unexpected_json) ==
               "role: required key missing");
    BOOST_TEST(parse_error<message_post>(R"({"role":null,"type":"text"})", client_errc::unexpected_json) ==
               "role: expected string");
    BOOST_TEST(parse_error<conversation_activity>(R"({"role":"appMaker"})", client_errc::unexpected_json) ==
               "type: required key missing");
}

BOOST_AUTO_TEST_CASE(null_means_absent)
{
    diagnostics diag;
    auto r = parse<message_response>(
        R"({"message":{"_id":null,"received":null,"metadata":null,"items":null,"quotedMessage":{"content":null},
            "source":{"type":null}},"conversation":null,"extraMessages":null})",
        diag);
    BOOST_TEST_REQUIRE(r.has_value(), diag.message);
    BOOST_TEST(!r->conversation.has_value());
    BOOST_TEST(!r->extra_messages.has_value());
    BOOST_TEST_REQUIRE(r->message.has_value());
    BOOST_TEST(!r->message->id.has_value());
    BOOST_TEST(!r->message->received.has_value());
    BOOST_TEST(!r->message->metadata.has_value());
    BOOST_TEST(!r->message->items.has_value());
    BOOST_TEST(!static_cast<bool>(r->message->quoted_message->content));
    BOOST_TEST(!r->message->source->type.has_value());
    BOOST_TEST(r->message->extra.empty());  // a null known key is not an unknown key
    // null inside raw JSON stays what it is
    auto m = parse<message>(R"({"metadata":{"a":null},"x":null})", diag);
    BOOST_TEST_REQUIRE(m.has_value(), diag.message);
    BOOST_TEST(m->metadata->at("a").is_null());
    BOOST_TEST(m->extra.at("x").is_null());
    // and the error body
    auto e = parse<api_error_body>(R"({"error":null})", diag);
    BOOST_TEST_REQUIRE(e.has_value(), diag.message);
    BOOST_TEST(!e->code.has_value());
}

BOOST_AUTO_TEST_CASE(odd_keys)
{
    diagnostics diag;
    // Duplicate keys: the last one wins (Boost.JSON keeps one); odd unknown keys are kept verbatim.
    auto r = parse<conversation>(std::string(R"({"_id":"a","_id":"b","\u0000":1,"":2,"_ID":3,"id":4})"), diag);
    BOOST_TEST_REQUIRE(r.has_value(), diag.message);
    BOOST_TEST(r->id.value_or("") == "b");
    BOOST_TEST(r->extra.size() == 4u);
    BOOST_TEST(r->extra.contains(std::string_view("\0", 1)));
    BOOST_TEST(r->extra.contains(""));
    // A wrong type under an unknown key is not our business.
    auto m = parse<message>(R"({"future":[{"x":{"y":[1,2,{"z":null}]}}]})", diag);
    BOOST_TEST(m.has_value(), diag.message);
}

BOOST_AUTO_TEST_CASE(values_that_no_parser_produces)
{
    // from_json on values built in code: infinities and NaN in double fields are rejected, not stored.
    diagnostics diag;
    bj::value v = bj::object{{"received", std::numeric_limits<double>::infinity()}};
    auto r = from_json<message>(v, diag);
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(diag.message == "received: number out of range");
    v = bj::object{{"received", std::numeric_limits<double>::quiet_NaN()}};
    BOOST_TEST(!from_json<message>(v, diag).has_value());
    v = bj::object{{"unreadCount", std::numeric_limits<double>::infinity()}};
    BOOST_TEST(!from_json<conversation>(v, diag).has_value());
    BOOST_TEST(diag.message == "unreadCount: expected integer");
    v = bj::object{{"unreadCount", std::uint64_t{5}}};
    auto c = from_json<conversation>(v, diag);
    BOOST_TEST_REQUIRE(c.has_value(), diag.message);
    BOOST_TEST(*c->unread_count == 5);
}

BOOST_AUTO_TEST_CASE(random_mutations_never_crash)
{
    // Bounded mutation fuzzing of a valid document: every outcome is a value or an error with a message.
    std::mt19937 rng(7);
    const std::string alphabet = "{}[]\":,0123456789.eE-+ntrufals\\u\x80\xff\xc3";
    int ok = 0, failed = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string text = valid_page;
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits && !text.empty(); ++e) {
            const std::size_t at = rng() % text.size();
            switch (rng() % 3) {
            case 0: text[at] = alphabet[rng() % alphabet.size()]; break;
            case 1: text.erase(at, 1 + rng() % 8); break;
            default: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
            }
        }
        diagnostics diag;
        auto r = parse<get_messages_response>(text, diag);
        if (r) {
            ++ok;
            // Whatever parsed must serialize and parse again to the same model.
            auto again = parse<get_messages_response>(serialize(*r), diag);
            BOOST_TEST_REQUIRE(again.has_value(), diag.message);
            BOOST_TEST_REQUIRE((*again == *r));
        } else {
            ++failed;
            BOOST_TEST_REQUIRE(!diag.message.empty());
            BOOST_TEST_REQUIRE((r.error() == client_errc::invalid_json || r.error() == client_errc::unexpected_json));
        }
    }
    BOOST_TEST(ok > 0);
    BOOST_TEST(failed > 0);
}

BOOST_AUTO_TEST_CASE(streaming_reader_agrees_with_the_tree_reader)
{
    // parse<T>() reads text straight into models; from_json() reads a tree. Same input, same model, including
    // escaped keys (which the streaming reader must copy), strings in pieces, unknown nested keys and duplicates.
    const std::string texts[] = {
        R"({"message":{"t\u0065xt":"a\"b\\c","x-\u00e9":{"k\n":[1,{"z":null},-2.5e-3,"s"]},"received":1439220041.586},"conversation":{"_id":"c","unreadCount":3}})",
        R"({"message":{"text":"first","text":"second","actions":[{"type":"link","text":"t"}],"actions":[]}})",
        R"({"messages":[{"_id":"1","metadata":{"a":{"b":[[],{}]}}},{"_id":"2","items":[{"title":"t","actions":[{"type":"postback","text":"p","payload":"x"}]}]}],"next":"1.5","x-top":[true,false,null]})",
        "{\"message\":{\"text\":\"" + std::string(3000, 'x') + "\\n" + std::string(3000, 'y') + "\"}}",
    };
    for (const auto& text : texts) {
        diagnostics d1, d2;
        const bool pages = text.find("\"messages\"") != std::string::npos;
        if (pages) {
            auto streamed = parse<get_messages_response>(text, d1);
            auto tree = from_json<get_messages_response>(bj::parse(text), d2);
            BOOST_TEST_REQUIRE(streamed.has_value(), d1.message);
            BOOST_TEST_REQUIRE(tree.has_value(), d2.message);
            BOOST_TEST((*streamed == *tree), text.substr(0, 120));
        } else {
            auto streamed = parse<message_response>(text, d1);
            auto tree = from_json<message_response>(bj::parse(text), d2);
            BOOST_TEST_REQUIRE(streamed.has_value(), d1.message);
            BOOST_TEST_REQUIRE(tree.has_value(), d2.message);
            BOOST_TEST((*streamed == *tree), text.substr(0, 120));
        }
    }
    diagnostics d;
    auto r = parse<message_response>(texts[0], d);
    BOOST_TEST(r->message->text.value_or("") == "a\"b\\c");
    BOOST_TEST(r->message->extra.contains("x-\u00e9"));
    BOOST_TEST(bj::serialize(r->message->extra.at("x-\u00e9")) == R"({"k\n":[1,{"z":null},-2.5E-3,"s"]})");
    auto dup = parse<message_response>(texts[1], d);
    BOOST_TEST(dup->message->text.value_or("") == "second");  // the last duplicate wins, as in a tree
    BOOST_TEST(dup->message->actions.has_value());
    BOOST_TEST(dup->message->actions->empty());
    BOOST_TEST(parse<message_response>(texts[3], d)->message->text->size() == 6001u);
}

BOOST_AUTO_TEST_CASE(a_syntax_error_wins_over_an_earlier_type_error)
{
    // The tree reader sees the syntax error first (it parses everything before reading); so must the stream.
    const std::string m = parse_error<get_messages_response>(R"({"messages":[{"received":"yesterday"}] garbage)",
                                                             client_errc::invalid_json);
    BOOST_TEST(m.find("invalid JSON") != std::string::npos, m);
}

BOOST_AUTO_TEST_SUITE_END()

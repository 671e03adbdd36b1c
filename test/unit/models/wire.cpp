// SPDX-License-Identifier: BSL-1.0
// The documented wire examples (docs/api-facts.md, "Responses", and the error body of "Errors"): each parses into the right model and
// re-serializes to equivalent JSON. Also format_cursor().

#include <smooch/json.hpp>
#include <smooch/models.hpp>
#include <smooch/validate.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <string_view>

namespace bj = boost::json;
using namespace smooch;

namespace {

double as_double(const bj::value& v)
{
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    return v.get_double();
}

// JSON equivalence: numbers compare by value whatever their kind (1471995721 == 1.471995721E9). Doubles may
// differ by one ulp because the reference side is read by boost::json::parse, which in Boost 1.81 is not always
// correctly rounded (the library's own parser is; the model tests check exact values).
bool equivalent(const bj::value& a, const bj::value& b)
{
    if (a.is_number() && b.is_number()) {
        if (!a.is_double() && !b.is_double()) return a == b;
        const double x = as_double(a);
        const double y = as_double(b);
        return x == y || std::nextafter(x, y) == y;
    }
    if (a.kind() != b.kind()) return false;
    if (a.is_object()) {
        const auto& oa = a.get_object();
        const auto& ob = b.get_object();
        if (oa.size() != ob.size()) return false;
        for (const auto& kv : oa) {
            const bj::value* other = ob.if_contains(kv.key());
            if (!other || !equivalent(kv.value(), *other)) return false;
        }
        return true;
    }
    if (a.is_array()) {
        const auto& aa = a.get_array();
        const auto& ab = b.get_array();
        if (aa.size() != ab.size()) return false;
        for (std::size_t i = 0; i < aa.size(); ++i)
            if (!equivalent(aa[i], ab[i])) return false;
        return true;
    }
    return a == b;
}

// Parses `text` as T, checks that serializing gives back equivalent JSON, and that the serialized text parses
// back to the same model.
template <class T>
T parse_and_reserialize(std::string_view text)
{
    diagnostics diag;
    auto r = parse<T>(text, diag);
    BOOST_TEST_REQUIRE(r.has_value(), "parse failed: " << diag.message);
    const std::string out = serialize(*r);
    BOOST_TEST(equivalent(bj::parse(text), bj::parse(out)), "in:  " << text << "\nout: " << out);
    BOOST_TEST(equivalent(bj::parse(text), to_json(*r)));
    auto again = parse<T>(out, diag);
    BOOST_TEST_REQUIRE(again.has_value(), diag.message);
    BOOST_TEST((*again == *r));
    return *r;
}

constexpr std::string_view activity_request = R"({"role":"appMaker","type":"typing:start"})";
constexpr std::string_view activity_reply = R"({"conversation":{"_id":"df0ebe56cbeab98589b8bfa7","unreadCount":0}})";

constexpr std::string_view get_messages_reply = R"({
  "conversation": {"_id": "df0ebe56cbeab98589b8bfa7", "unreadCount": 0},
  "messages": [{
    "_id": "55c8c1498590aa1900b9b9b1",
    "authorId": "c7f6e6d6c3a637261bd9656f",
    "role": "appUser",
    "name": "Steve",
    "text": "Just put some vinegar on it",
    "avatarUrl": "https://www.gravatar.com/image.jpg",
    "received": 1439220041.586
  }],
  "next": "https://api.smooch.io/v1/apps/5963c0d619a30a2e00de36b8/appusers/c7f6e6d6c3a637261bd9656f/messages?after=1471995721"
})";

constexpr std::string_view post_message_request =
    R"({"role":"appMaker","type":"text","text":"Hello!","metadata":{"lang":"en-ca","items":3},
 "actions":[{"text":"More info","type":"link","uri":"http://example.org","metadata":{"buttonIntent":"moreInfo"}}]})";

constexpr std::string_view post_message_reply = R"({
  "message": {
    "_id": "55c8c1498590aa1900b9b9b1", "authorId": "c7f6e6d6c3a637261bd9656f",
    "role": "appMaker", "type": "text", "name": "Steve",
    "text": "Just put some vinegar on it",
    "avatarUrl": "https://www.gravatar.com/image.jpg", "received": 1439220041.586
  },
  "conversation": {"_id": "df0ebe56cbeab98589b8bfa7", "unreadCount": 0}
})";

constexpr std::string_view location_request =
    R"({"role":"appUser","type":"location","coordinates":{"lat":45.5261583,"long":-73.595346}})";

constexpr std::string_view carousel_request =
    R"({"role":"appMaker","type":"carousel","items":[{"title":"Tacos","description":"Description",
  "mediaUrl":"http://example.org/image.jpg","actions":[{"text":"Select","type":"postback","payload":"TACOS"},
  {"text":"More info","type":"link","uri":"http://example.org"}]}],"displaySettings":{"imageAspectRatio":"square"}})";

constexpr std::string_view error_reply =
    R"({"error": {"code": "unauthorized", "description": "Authorization is required"}})";

}  // namespace

BOOST_AUTO_TEST_SUITE(wire_examples)

BOOST_AUTO_TEST_CASE(conversation_activity_request)
{
    const auto a = parse_and_reserialize<conversation_activity>(activity_request);
    BOOST_TEST((a.role == role::app_maker));
    BOOST_TEST((a.type == activity_type::typing_start));
    BOOST_TEST(!a.name.has_value());
    BOOST_TEST(a.extra.empty());
    diagnostics diag;
    BOOST_TEST(!validate(a, diag));
    // Built in code, the same request serializes to the documented text.
    conversation_activity built;
    BOOST_TEST(bj::parse(serialize(built)) == bj::parse(activity_request));
}

BOOST_AUTO_TEST_CASE(conversation_activity_reply)
{
    const auto r = parse_and_reserialize<activity_response>(activity_reply);
    BOOST_TEST_REQUIRE(r.conversation.has_value());
    BOOST_TEST(r.conversation->id.value_or("") == "df0ebe56cbeab98589b8bfa7");
    BOOST_TEST(r.conversation->unread_count.value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(get_messages_reply_example)
{
    const auto r = parse_and_reserialize<get_messages_response>(get_messages_reply);
    BOOST_TEST_REQUIRE(r.conversation.has_value());
    BOOST_TEST(r.conversation->id.value_or("") == "df0ebe56cbeab98589b8bfa7");
    BOOST_TEST_REQUIRE(r.messages.has_value());
    BOOST_TEST_REQUIRE(r.messages->size() == 1u);
    const message& m = r.messages->front();
    BOOST_TEST(m.id.value_or("") == "55c8c1498590aa1900b9b9b1");
    BOOST_TEST(m.author_id.value_or("") == "c7f6e6d6c3a637261bd9656f");
    BOOST_TEST_REQUIRE(m.role.has_value());
    BOOST_TEST((*m.role == role::app_user));
    BOOST_TEST(!m.type.has_value());  // the docs example has no type
    BOOST_TEST(m.name.value_or("") == "Steve");
    BOOST_TEST(m.text.value_or("") == "Just put some vinegar on it");
    BOOST_TEST(m.avatar_url.value_or("") == "https://www.gravatar.com/image.jpg");
    BOOST_TEST(m.received.value_or(0) == 1439220041.586);  // exact: the nearest double to the text
    BOOST_TEST(m.extra.empty());
    BOOST_TEST(r.has_next());
    BOOST_TEST(!r.has_previous());
    BOOST_TEST(format_cursor(*m.received) == "1439220041.586");
}

BOOST_AUTO_TEST_CASE(get_messages_reply_with_previous)
{
    const auto r = parse_and_reserialize<get_messages_response>(
        R"({"messages":[],"previous":"https://api.smooch.io/v1.1/apps/a/appusers/u/messages?before=1439220041.586","next":""})");
    BOOST_TEST(r.has_previous());
    BOOST_TEST(!r.has_next());
    BOOST_TEST(r.messages.has_value());
    BOOST_TEST(r.messages->empty());
}

BOOST_AUTO_TEST_CASE(post_message_request_example)
{
    const auto m = parse_and_reserialize<message_post>(post_message_request);
    BOOST_TEST((m.role == role::app_maker));
    BOOST_TEST((m.type == message_type::text));
    BOOST_TEST(m.text.value_or("") == "Hello!");
    BOOST_TEST_REQUIRE(m.metadata.has_value());
    BOOST_TEST(m.metadata->at("lang") == "en-ca");
    BOOST_TEST(m.metadata->at("items") == 3);
    BOOST_TEST_REQUIRE(m.actions.has_value());
    BOOST_TEST_REQUIRE(m.actions->size() == 1u);
    const action& a = m.actions->front();
    BOOST_TEST((a.type == action_type::link));
    BOOST_TEST(a.text.value_or("") == "More info");
    BOOST_TEST(a.uri.value_or("") == "http://example.org");
    BOOST_TEST_REQUIRE(a.metadata.has_value());
    BOOST_TEST(a.metadata->at("buttonIntent") == "moreInfo");
    diagnostics diag;
    BOOST_TEST(!validate(m, diag), diag.message);
}

BOOST_AUTO_TEST_CASE(post_message_reply_example)
{
    const auto r = parse_and_reserialize<message_response>(post_message_reply);
    BOOST_TEST_REQUIRE(r.message.has_value());
    BOOST_TEST((r.message->type == message_type::text));
    BOOST_TEST((r.message->role == role::app_maker));
    BOOST_TEST(r.message->received.value_or(0) == 1439220041.586);
    BOOST_TEST(!r.extra_messages.has_value());
    BOOST_TEST_REQUIRE(r.conversation.has_value());
    BOOST_TEST(r.conversation->unread_count.value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(location_request_example)
{
    const auto m = parse_and_reserialize<message_post>(location_request);
    BOOST_TEST((m.role == role::app_user));
    BOOST_TEST((m.type == message_type::location));
    BOOST_TEST_REQUIRE(m.coordinates.has_value());
    BOOST_TEST(m.coordinates->lat.value_or(0) == 45.5261583);
    BOOST_TEST(m.coordinates->long_.value_or(0) == -73.595346);
    diagnostics diag;
    BOOST_TEST(!validate(m, diag), diag.message);
}

BOOST_AUTO_TEST_CASE(carousel_request_example)
{
    const auto m = parse_and_reserialize<message_post>(carousel_request);
    BOOST_TEST((m.type == message_type::carousel));
    BOOST_TEST_REQUIRE(m.items.has_value());
    BOOST_TEST_REQUIRE(m.items->size() == 1u);
    const message_item& item = m.items->front();
    BOOST_TEST(item.title.value_or("") == "Tacos");
    BOOST_TEST(item.description.value_or("") == "Description");
    BOOST_TEST(item.media_url.value_or("") == "http://example.org/image.jpg");
    BOOST_TEST_REQUIRE(item.actions.has_value());
    BOOST_TEST_REQUIRE(item.actions->size() == 2u);
    BOOST_TEST(((*item.actions)[0].type == action_type::postback));
    BOOST_TEST((*item.actions)[0].payload.value_or("") == "TACOS");
    BOOST_TEST(((*item.actions)[1].type == action_type::link));
    BOOST_TEST_REQUIRE(m.display_settings.has_value());
    BOOST_TEST((m.display_settings->image_aspect_ratio == image_aspect_ratio::square));
    diagnostics diag;
    BOOST_TEST(!validate(m, diag), diag.message);
}

BOOST_AUTO_TEST_CASE(error_body_example)
{
    const auto e = parse_and_reserialize<api_error_body>(error_reply);
    BOOST_TEST(e.code.value_or("") == "unauthorized");
    BOOST_TEST(e.description.value_or("") == "Authorization is required");
    BOOST_TEST(e.extra.empty());
    BOOST_TEST(e.outer_extra.empty());

    const auto more = parse_and_reserialize<api_error_body>(
        R"j({"error":{"code":"invalid_auth","description":"Invalid JWT header. Missing key id (kid)","hint":1},"traceId":"x"})j");
    BOOST_TEST(more.code.value_or("") == "invalid_auth");
    BOOST_TEST(more.extra.contains("hint"));
    BOOST_TEST(more.outer_extra.contains("traceId"));

    diagnostics diag;
    auto bad = parse<api_error_body>(R"({"error":{"code":401}})", diag);
    BOOST_TEST_REQUIRE(!bad.has_value());
    BOOST_TEST((bad.error() == client_errc::unexpected_json));
    BOOST_TEST(diag.message == "error.code: expected string");
    bad = parse<api_error_body>(R"({"error":"unauthorized"})", diag);
    BOOST_TEST_REQUIRE(!bad.has_value());
    BOOST_TEST(diag.message == "error: expected object");
}

BOOST_AUTO_TEST_CASE(docs17_response_shapes)
{
    // The other documented 201 bodies (docs/api-facts.md, "Ids of items and actions"): carousel items and actions with _id, postbacks
    // with an empty uri, a location message with a source.
    const auto r = parse_and_reserialize<message_response>(R"({
      "message": {"_id":"5a","role":"appMaker","type":"list","text":"Title\nDescription","received":1480021430.242,
        "source":{"type":"api"},
        "items":[{"_id":"5b","title":"Tacos","description":"Description","mediaUrl":"http://example.org/image.jpg",
                  "mediaType":"image/jpeg","size":"large",
                  "actions":[{"_id":"5c","type":"postback","text":"Select","payload":"TACOS","uri":""}]}],
        "actions":[{"_id":"5d","type":"postback","text":"More","payload":"MORE","uri":""}]},
      "conversation": {"_id":"df0ebe56cbeab98589b8bfa7","unreadCount":1}})");
    BOOST_TEST_REQUIRE(r.message.has_value());
    BOOST_TEST((r.message->type == message_type::list));
    BOOST_TEST((r.message->source->type == integration_type::api));
    BOOST_TEST((*r.message->items)[0].id.value_or("") == "5b");
    BOOST_TEST((*(*r.message->items)[0].actions)[0].uri.value_or("x") == "");
    BOOST_TEST(r.conversation->unread_count.value_or(0) == 1);

    const auto loc = parse_and_reserialize<message_response>(R"({"message":{"role":"appUser","type":"location",
      "text":"Location shared:\nhttps://maps.google.com/maps?q=45.5261583,-73.595346",
      "coordinates":{"_id":"c1","lat":45.5261583,"long":-73.595346},"source":{"type":"messenger"}}})");
    BOOST_TEST(loc.message->coordinates->id.value_or("") == "c1");
    BOOST_TEST(loc.message->coordinates->long_.value_or(0) == -73.595346);
    BOOST_TEST((loc.message->source->type == integration_type::messenger));
}

BOOST_AUTO_TEST_CASE(renamed_keys)
{
    // `_id`, `long`, `default` and `override` are the wire names of id, long_, is_default and override_.
    message_post m;
    m.type = message_type::location;
    m.coordinates = coordinates{};
    m.coordinates->lat = 1.5;
    m.coordinates->long_ = -2.25;
    m.coordinates->id = "c";
    action a;
    a.type = action_type::link;
    a.text = "t";
    a.uri = "u";
    a.is_default = true;
    a.id = "a1";
    m.actions = std::vector<action>{a};
    m.override_ = json_object{{"whatsapp", bj::object{{"payload", bj::object{{"x", 1}}}}}};
    const bj::value v = to_json(m);
    BOOST_TEST(v.at("coordinates").at("long") == -2.25);
    BOOST_TEST(v.at("coordinates").at("_id") == "c");
    BOOST_TEST(!v.at("coordinates").as_object().contains("long_"));
    BOOST_TEST(v.at("actions").at(0).at("default") == true);
    BOOST_TEST(v.at("actions").at(0).at("_id") == "a1");
    BOOST_TEST(v.at("override").at("whatsapp").at("payload").at("x") == 1);
    BOOST_TEST(!v.as_object().contains("name"));  // absent optional -> absent key
}

BOOST_AUTO_TEST_CASE(extra_and_unknown_enums_survive)
{
    const auto r = parse_and_reserialize<message_response>(
        R"({"message":{"role":"whisper","type":"sticker","source":{"type":"frontendEmail","x":[1,{"y":null}]},
            "future":{"a":[true,false,null]},"quotedMessage":{"type":"message","content":{"_id":"q","role":"appUser"}}},
            "note":"kept"})");
    BOOST_TEST((r.message->role == role::whisper));
    BOOST_TEST(r.message->type->str() == "sticker");
    BOOST_TEST(!r.message->type->is_known());
    BOOST_TEST(r.message->source->type->str() == "frontendEmail");
    BOOST_TEST(r.message->source->extra.contains("x"));
    BOOST_TEST(r.message->extra.contains("future"));
    BOOST_TEST(r.extra.at("note") == "kept");
    BOOST_TEST_REQUIRE(r.message->quoted_message.has_value());
    BOOST_TEST_REQUIRE(static_cast<bool>(r.message->quoted_message->content));
    BOOST_TEST(r.message->quoted_message->content->id.value_or("") == "q");
}

BOOST_AUTO_TEST_CASE(known_key_wins_over_extra)
{
    conversation c;
    c.id = "real";
    c.extra["_id"] = "shadow";
    c.extra["other"] = 1;
    const bj::value v = to_json(c);
    BOOST_TEST(v.at("_id") == "real");
    BOOST_TEST(v.at("other") == 1);
    BOOST_TEST(v.as_object().size() == 2u);
}

BOOST_AUTO_TEST_CASE(non_finite_doubles_are_left_out)
{
    message m;
    m.received = std::numeric_limits<double>::infinity();
    m.text = "x";
    const std::string s = serialize(m);
    BOOST_TEST(s == R"({"text":"x"})");
}

BOOST_AUTO_TEST_CASE(to_json_into_existing_value)
{
    bj::value out = bj::array{1, 2};
    conversation c;
    c.unread_count = 7;
    to_json(c, out);
    BOOST_TEST(out == bj::parse(R"({"unreadCount":7})"));
}

BOOST_AUTO_TEST_CASE(throwing_parse)
{
    BOOST_TEST(parse<conversation>(R"({"_id":"c"})").id.value_or("") == "c");
    try {
        (void)parse<conversation>(R"({"_id":5})");
        BOOST_FAIL("no exception");
    } catch (const smooch::error& e) {
        BOOST_TEST((e.code() == client_errc::unexpected_json));
        BOOST_TEST(e.diagnostics().message == "_id: expected string");
    }
    BOOST_CHECK_THROW((void)parse<conversation>("{"), smooch::error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cursor)

BOOST_AUTO_TEST_CASE(documented_values)
{
    BOOST_TEST(format_cursor(1439220041.586) == "1439220041.586");
    BOOST_TEST(format_cursor(1471995721.0) == "1471995721");
    BOOST_TEST(format_cursor(0.0) == "0");
    BOOST_TEST(format_cursor(0.5) == "0.5");
    BOOST_TEST(format_cursor(1e-7) == "0.0000001");
    BOOST_TEST(format_cursor(1e21) == "1000000000000000000000");
    BOOST_TEST(format_cursor(std::numeric_limits<double>::quiet_NaN()).empty());
    BOOST_TEST(format_cursor(std::numeric_limits<double>::infinity()).empty());
    BOOST_TEST(format_cursor(-std::numeric_limits<double>::infinity()).empty());
    const std::string big = format_cursor(std::numeric_limits<double>::max());
    BOOST_TEST(big.size() == 309u);
    BOOST_TEST(big.find('e') == std::string::npos);
    const std::string tiny = format_cursor(std::numeric_limits<double>::denorm_min());
    BOOST_TEST(tiny.substr(0, 2) == "0.");
    BOOST_TEST(std::strtod(tiny.c_str(), nullptr) == std::numeric_limits<double>::denorm_min());
}

BOOST_AUTO_TEST_CASE(round_trips_through_strtod)
{
    std::mt19937 gen(20240501);
    std::uniform_int_distribution<std::int64_t> seconds(1'000'000'000, 2'000'000'000);
    std::uniform_int_distribution<int> millis(0, 999);
    std::uniform_int_distribution<std::uint32_t> bits;
    for (int i = 0; i < 2000; ++i) {
        double d = 0;
        if (i % 2 == 0) {
            d = static_cast<double>(seconds(gen)) + millis(gen) / 1000.0;
        } else {
            // Any positive finite double.
            const std::uint64_t b = (std::uint64_t{bits(gen)} << 32 | bits(gen)) & 0x7FFF'FFFF'FFFF'FFFFull;
            std::memcpy(&d, &b, sizeof d);
            if (!std::isfinite(d)) continue;
        }
        const std::string s = format_cursor(d);
        BOOST_TEST_REQUIRE(!s.empty());
        BOOST_TEST(s.find_first_of("eE") == std::string::npos);
        BOOST_TEST(std::strtod(s.c_str(), nullptr) == d, s);
        diagnostics diag;
        get_messages_query q;
        q.before = s;
        BOOST_TEST(!validate(q, diag), diag.message);
    }
}

BOOST_AUTO_TEST_SUITE_END()

// SPDX-License-Identifier: BSL-1.0
// validate(): one passing and one failing case per rule; a failure is client_errc::invalid_request with a
// message "<field path>: <rule>" naming the field.

#include <smooch/json.hpp>
#include <smooch/validate.hpp>

#include <boost/test/unit_test.hpp>

#include <limits>
#include <string>
#include <vector>

using namespace smooch;

namespace {

template <class T>
void expect_valid(const T& request)
{
    diagnostics diag;
    const error_code ec = validate(request, diag);
    BOOST_TEST(!ec, "unexpected failure: " << diag.message);
}

// `path` is the field the message must start with; `words` a fragment of the rule.
template <class T>
void expect_invalid(const T& request, const std::string& path, const std::string& words = {})
{
    diagnostics diag;
    const error_code ec = validate(request, diag);
    BOOST_TEST((ec == client_errc::invalid_request), "expected invalid_request for " << path);
    BOOST_TEST(diag.message.rfind(path + ": ", 0) == 0u, "message \"" << diag.message << "\" should name " << path);
    BOOST_TEST(diag.message.find(words) != std::string::npos,
               "message \"" << diag.message << "\" should say " << words);
}

action make_action(action_type type)
{
    action a;
    a.type = type;
    a.text = "Press";
    switch (type) {
    case action_type::buy: a.amount = 999; break;
    case action_type::link: a.uri = "https://example.org"; break;
    case action_type::webview:
        a.uri = "https://example.org/view";
        a.fallback = "https://example.org";
        break;
    case action_type::postback:
    case action_type::reply: a.payload = "P"; break;
    case action_type::share: a.text.reset(); break;
    case action_type::location_request: break;
    }
    return a;
}

message_post text_message(std::vector<action> actions = {})
{
    message_post m;
    m.role = role::app_maker;
    m.type = message_type::text;
    m.text = "Hello";
    if (!actions.empty()) m.actions = std::move(actions);
    return m;
}

message_item make_item(std::size_t actions = 1)
{
    message_item item;
    item.title = "Tacos";
    item.actions = std::vector<action>(actions, make_action(action_type::postback));
    return item;
}

message_post carousel(std::size_t items, message_type type = message_type::carousel)
{
    message_post m;
    m.type = type;
    m.items = std::vector<message_item>(items, make_item());
    return m;
}

message_post location_message(double lat, double lon)
{
    message_post m;
    m.role = role::app_user;
    m.type = message_type::location;
    m.coordinates = coordinates{};
    m.coordinates->lat = lat;
    m.coordinates->long_ = lon;
    return m;
}

field_post text_field(std::string name)
{
    field_post f;
    f.type = field_type::text;
    f.name = std::move(name);
    f.label = "Label";
    return f;
}

field_post select_field(std::string name, std::size_t options)
{
    field_post f;
    f.type = field_type::select;
    f.name = std::move(name);
    f.label = "Pick";
    std::vector<option> opts;
    for (std::size_t i = 0; i < options; ++i) {
        option o;
        o.name = "o" + std::to_string(i);
        o.label = "Option " + std::to_string(i);
        opts.push_back(o);
    }
    f.options = std::move(opts);
    return f;
}

message_post form(std::vector<field_post> fields)
{
    message_post m;
    m.type = message_type::form;
    m.fields = std::move(fields);
    return m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(validate_message_post)

BOOST_AUTO_TEST_CASE(role_is_app_maker_or_app_user)
{
    expect_valid(text_message());
    message_post m = text_message();
    m.role = role::app_user;
    expect_valid(m);
    m.role = role::whisper;
    expect_invalid(m, "role", "appMaker or appUser");
    m.role = "bot";
    expect_invalid(m, "role", "\"bot\"");
    m.role = "";
    expect_invalid(m, "role");
}

BOOST_AUTO_TEST_CASE(type_required_unknown_accepted)
{
    message_post m = text_message();
    m.type = "sticker";  // a type this library does not know: the server decides
    expect_valid(m);
    m.type = "";
    expect_invalid(m, "type", "required");
}

BOOST_AUTO_TEST_CASE(text_needs_text_or_actions)
{
    message_post m = text_message();
    m.text.reset();
    expect_invalid(m, "text", "text or actions");
    m.text = "";
    expect_invalid(m, "text");
    m.actions = std::vector<action>{make_action(action_type::link)};
    expect_valid(m);
}

BOOST_AUTO_TEST_CASE(media_needs_url)
{
    for (const auto type : {message_type::image, message_type::file}) {
        message_post m;
        m.type = type;
        expect_invalid(m, "mediaUrl", "required");
        m.media_url = "";
        expect_invalid(m, "mediaUrl");
        m.media_url = "https://example.org/a.jpg";
        expect_valid(m);
    }
}

BOOST_AUTO_TEST_CASE(carousel_and_list_item_count)
{
    for (const auto type : {message_type::carousel, message_type::list}) {
        expect_valid(carousel(1, type));
        expect_valid(carousel(10, type));
        expect_invalid(carousel(0, type), "items", "got 0");
        expect_invalid(carousel(11, type), "items", "1 to 10 items, got 11");
        message_post none = carousel(1, type);
        none.items.reset();
        expect_invalid(none, "items");
    }
}

BOOST_AUTO_TEST_CASE(item_title_and_actions)
{
    message_post m = carousel(3);
    (*m.items)[2] = make_item(3);
    expect_valid(m);
    (*m.items)[1].title.reset();
    expect_invalid(m, "items[1].title", "required");
    (*m.items)[1].title = "";
    expect_invalid(m, "items[1].title");
    (*m.items)[1] = make_item(0);
    expect_invalid(m, "items[1].actions", "1 to 3 actions, got 0");
    (*m.items)[1] = make_item(4);
    expect_invalid(m, "items[1].actions", "got 4");
    (*m.items)[1].actions.reset();
    expect_invalid(m, "items[1].actions");
    (*m.items)[1] = make_item(1);
    (*(*m.items)[1].actions)[0].payload.reset();
    expect_invalid(m, "items[1].actions[0].payload", "required for postback");
    (*(*m.items)[1].actions)[0] = make_action(action_type::share);
    expect_valid(m);
}

BOOST_AUTO_TEST_CASE(actions_only_for_app_maker)
{
    message_post m = text_message({make_action(action_type::postback)});
    expect_valid(m);
    m.role = role::app_user;
    expect_invalid(m, "actions", "only appMaker");
    m.actions = std::vector<action>{};  // an empty list is no actions
    expect_valid(m);
}

BOOST_AUTO_TEST_CASE(action_type_and_text)
{
    message_post m = text_message({make_action(action_type::link)});
    (*m.actions)[0].type.reset();
    expect_invalid(m, "actions[0].type", "required");
    (*m.actions)[0].type = "";
    expect_invalid(m, "actions[0].type", "required");
    m = text_message({make_action(action_type::link), make_action(action_type::buy)});
    (*m.actions)[1].text.reset();
    expect_invalid(m, "actions[1].text", "required for buy actions");
    (*m.actions)[1].text = "";
    expect_invalid(m, "actions[1].text");
    // share has no text; an unknown type still needs one (SPEC requires text)
    m = text_message({make_action(action_type::share)});
    expect_valid(m);
    action future;
    future.type = "flyTo";
    m = text_message({future});
    expect_invalid(m, "actions[0].text", "flyTo");
    future.text = "Go";
    m = text_message({future});
    expect_valid(m);
}

BOOST_AUTO_TEST_CASE(postback_and_reply_need_payload)
{
    for (const auto type : {action_type::postback, action_type::reply}) {
        message_post m = text_message({make_action(type)});
        expect_valid(m);
        (*m.actions)[0].payload.reset();
        expect_invalid(m, "actions[0].payload", "required");
        (*m.actions)[0].payload = "";
        expect_invalid(m, "actions[0].payload");
    }
}

BOOST_AUTO_TEST_CASE(link_and_webview_need_uri)
{
    for (const auto type : {action_type::link, action_type::webview}) {
        message_post m = text_message({make_action(type)});
        expect_valid(m);
        (*m.actions)[0].uri.reset();
        expect_invalid(m, "actions[0].uri", "required");
        (*m.actions)[0].uri = "";
        expect_invalid(m, "actions[0].uri");
    }
}

BOOST_AUTO_TEST_CASE(webview_needs_fallback)
{
    message_post m = text_message({make_action(action_type::webview)});
    expect_valid(m);
    (*m.actions)[0].fallback.reset();
    expect_invalid(m, "actions[0].fallback", "webview");
}

BOOST_AUTO_TEST_CASE(buy_needs_positive_amount)
{
    message_post m = text_message({make_action(action_type::buy)});
    expect_valid(m);
    (*m.actions)[0].amount.reset();
    expect_invalid(m, "actions[0].amount", "required");
    (*m.actions)[0].amount = 0;
    expect_invalid(m, "actions[0].amount", "positive");
    (*m.actions)[0].amount = -5;
    expect_invalid(m, "actions[0].amount", "got -5");
}

BOOST_AUTO_TEST_CASE(reply_mixing)
{
    expect_valid(text_message({make_action(action_type::reply), make_action(action_type::reply)}));
    expect_valid(text_message({make_action(action_type::reply), make_action(action_type::location_request)}));
    expect_valid(text_message({make_action(action_type::location_request)}));
    expect_valid(text_message({make_action(action_type::link), make_action(action_type::postback)}));
    expect_invalid(text_message({make_action(action_type::reply), make_action(action_type::link)}), "actions[1].type",
                   "\"link\"");
    expect_invalid(text_message({make_action(action_type::postback), make_action(action_type::reply)}),
                   "actions[0].type", "mixed");
    // DOCS17: "locationRequest type actions can be sent either alone or with reply actions".
    expect_invalid(text_message({make_action(action_type::location_request), make_action(action_type::webview)}),
                   "actions[1].type", "mixed");
}

BOOST_AUTO_TEST_CASE(one_open_on_receive)
{
    action w = make_action(action_type::webview);
    w.open_on_receive = true;
    action w2 = make_action(action_type::webview);
    w2.open_on_receive = false;
    expect_valid(text_message({w, w2}));
    expect_invalid(text_message({w, w2, w}), "actions[2].openOnReceive", "at most one");
}

BOOST_AUTO_TEST_CASE(location_coordinates)
{
    expect_valid(location_message(45.5261583, -73.595346));
    expect_valid(location_message(-90, 180));
    expect_valid(location_message(90, -180));
    message_post m = location_message(0, 0);
    m.coordinates.reset();
    expect_invalid(m, "coordinates", "required for location");
    m = location_message(0, 0);
    m.coordinates->lat.reset();
    expect_invalid(m, "coordinates.lat", "required");
    m = location_message(0, 0);
    m.coordinates->long_.reset();
    expect_invalid(m, "coordinates.long", "required");
    expect_invalid(location_message(90.0001, 0), "coordinates.lat", "[-90, 90]");
    expect_invalid(location_message(-91, 0), "coordinates.lat");
    expect_invalid(location_message(0, 180.5), "coordinates.long", "[-180, 180]");
    expect_invalid(location_message(0, -181), "coordinates.long");
    expect_invalid(location_message(std::numeric_limits<double>::quiet_NaN(), 0), "coordinates.lat", "finite");
    expect_invalid(location_message(0, std::numeric_limits<double>::infinity()), "coordinates.long", "finite");
}

BOOST_AUTO_TEST_CASE(form_fields)
{
    expect_valid(form({text_field("name"), select_field("meal", 2)}));
    expect_invalid(form({}), "fields", "at least one field");
    message_post m = form({});
    m.fields.reset();
    expect_invalid(m, "fields");

    field_post f = text_field("a");
    f.name.clear();
    expect_invalid(form({text_field("x"), f}), "fields[1].name", "required");
    f = text_field("a");
    f.label.clear();
    expect_invalid(form({f}), "fields[0].label", "required");
    f = text_field("a");
    f.type = "";
    expect_invalid(form({f}), "fields[0].type", "required");
    f.type = "date";  // unknown field type: accepted
    expect_valid(form({f}));
    expect_invalid(form({text_field("a"), text_field("b"), text_field("a")}), "fields[2].name", "unique");
}

BOOST_AUTO_TEST_CASE(select_options)
{
    expect_valid(form({select_field("s", 1)}));
    expect_valid(form({select_field("s", 20)}));
    expect_invalid(form({select_field("s", 0)}), "fields[0].options", "1 to 20 options, got 0");
    expect_invalid(form({select_field("s", 21)}), "fields[0].options", "got 21");
    field_post f = select_field("s", 3);
    f.options.reset();
    expect_invalid(form({f}), "fields[0].options");
    f = select_field("s", 3);
    (*f.options)[2].name = "o0";
    expect_invalid(form({f}), "fields[0].options[2].name", "unique");
    f = select_field("s", 3);
    (*f.options)[1].label.reset();
    expect_invalid(form({f}), "fields[0].options[1].label", "required");
    f = select_field("s", 3);
    (*f.options)[0].name.reset();
    expect_invalid(form({f}), "fields[0].options[0].name", "required");
}

BOOST_AUTO_TEST_CASE(metadata_is_flat)
{
    message_post m = text_message();
    m.metadata = json_object{{"lang", "en-ca"}, {"items", 3}, {"ratio", 0.5}, {"ok", true}};
    expect_valid(m);
    m.metadata->emplace("nested", boost::json::object{{"a", 1}});
    expect_invalid(m, "metadata.nested", "flat");
    m.metadata = json_object{{"list", boost::json::array{1, 2}}};
    expect_invalid(m, "metadata.list", "strings, numbers or booleans");
    m.metadata = json_object{{"nothing", nullptr}};
    expect_invalid(m, "metadata.nothing");

    action a = make_action(action_type::link);
    a.metadata = json_object{{"buttonIntent", "moreInfo"}};
    m = text_message({a});
    expect_valid(m);
    (*m.actions)[0].metadata->emplace("deep", boost::json::object{});
    expect_invalid(m, "actions[0].metadata.deep", "flat");
}

BOOST_AUTO_TEST_CASE(destination_rules)
{
    message_post m = text_message();
    m.destination = smooch::destination{};
    expect_invalid(m, "destination", "integrationId or integrationType");
    m.destination->integration_type = integration_type::messenger;
    expect_valid(m);
    m.destination = smooch::destination{};
    m.destination->integration_id = "5a";
    expect_valid(m);
    m.role = role::app_user;
    expect_invalid(m, "destination", "only appMaker");
}

BOOST_AUTO_TEST_CASE(documented_unsure_things_are_accepted)
{
    message_post m = text_message();
    m.block_chat_input = true;  // "form messages only" on the Web SDK: the server decides
    m.override_ = json_object{{"whatsapp", boost::json::object{{"payload", boost::json::object{}}}}};
    m.display_settings = display_settings{};
    m.display_settings->image_aspect_ratio = "panorama";
    m.media_type = "image/jpeg";
    expect_valid(m);
    message_post image;
    image.type = message_type::image;
    image.media_url = "https://example.org/a.jpg";  // mediaType may be omitted (DOCS17)
    expect_valid(image);
}

// Every string is checked with the shared validator (its RFC 3629 cases are in test/unit/detail/utf8.cpp); here,
// that validate() finds a bad string wherever it is and names its field.
BOOST_AUTO_TEST_CASE(every_string_is_utf8)
{
    namespace bj = boost::json;
    message_post m = text_message();
    m.text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \"quoted\" \\ tab\t";  // é € 😀, escapes
    expect_valid(m);
    m.text = "ok \xed\xa0\x80 end";  // a surrogate
    expect_invalid(m, "text", "not valid UTF-8");
    m = text_message();
    m.metadata = json_object{{"note", "fine"}, {"bad", "b\xc3("}};
    expect_invalid(m, "metadata.bad", "UTF-8");
    m.metadata.reset();
    m.override_ = json_object{{"whatsapp", bj::object{{"list", bj::array{"a", bj::object{{"x", "\xc3("}}}}}}};
    expect_invalid(m, "override.whatsapp.list[1].x", "UTF-8");
    m.metadata = json_object{{"k\xff", 1}};
    expect_invalid(m, "metadata (a key)", "UTF-8");
    m = carousel(3);
    (*m.items)[2].title = "t\xe9";  // Latin-1, not UTF-8
    expect_invalid(m, "items[2].title", "UTF-8");
    m = text_message({make_action(action_type::link)});
    (*m.actions)[0].text = "\x80";
    expect_invalid(m, "actions[0].text", "UTF-8");
    m = text_message();
    m.extra = json_object{{"x-\xc3", "v"}};
    expect_invalid(m, "(a key)", "UTF-8");

    conversation_activity a;
    a.extra = json_object{{"x-note", "\xed\xbf\xbf"}};
    expect_invalid(a, "x-note", "UTF-8");
}

// NaN and infinities have no JSON spelling: inside raw JSON (metadata, override, extraChannelOptions, unknown keys)
// they would be serialized as invalid JSON, so validate() rejects them, naming the path down to the number.
BOOST_AUTO_TEST_CASE(raw_json_numbers_are_finite)
{
    constexpr double inf = std::numeric_limits<double>::infinity();
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    namespace bj = boost::json;

    message_post m = text_message();
    m.metadata = json_object{{"ratio", 0.5}, {"max", std::numeric_limits<double>::max()}, {"n", -3}};
    expect_valid(m);
    m.metadata->emplace("huge", inf);
    expect_invalid(m, "metadata.huge", "finite");
    (*m.metadata)["huge"] = -inf;
    expect_invalid(m, "metadata.huge", "finite");
    (*m.metadata)["huge"] = nan;
    expect_invalid(m, "metadata.huge", "finite");

    m = text_message();
    m.override_ = json_object{{"whatsapp", bj::object{{"payload", bj::object{{"a", bj::array{1, 2.5, nan}}}}}}};
    expect_invalid(m, "override.whatsapp.payload.a[2]", "finite");

    m = text_message();
    m.extra = json_object{{"x-unknown", bj::array{bj::object{{"deep", inf}}}}};
    expect_invalid(m, "x-unknown[0].deep", "finite");
    m.extra = json_object{{"x-top", -inf}};
    expect_invalid(m, "x-top", "finite");

    action a = make_action(action_type::webview);
    a.extra_channel_options = json_object{{"messenger", bj::object{{"webview_height_ratio", nan}}}};
    m = text_message({a});
    expect_invalid(m, "actions[0].extraChannelOptions.messenger.webview_height_ratio", "finite");
    a = make_action(action_type::postback);
    a.metadata = json_object{{"k", inf}};
    m = text_message({a});
    expect_invalid(m, "actions[0].metadata.k", "finite");
    a = make_action(action_type::postback);
    a.extra = json_object{{"weight", inf}};
    m = text_message({a});
    expect_invalid(m, "actions[0].weight", "finite");

    m = carousel(2);
    expect_valid(m);
    (*(*m.items)[1].actions)[0].metadata = json_object{{"k", -inf}};
    expect_invalid(m, "items[1].actions[0].metadata.k", "finite");
    m = carousel(1);
    (*m.items)[0].extra = json_object{{"score", nan}};
    expect_invalid(m, "items[0].score", "finite");

    m = location_message(45.5, -73.6);
    m.coordinates->extra = json_object{{"accuracy", inf}};
    expect_invalid(m, "coordinates.accuracy", "finite");
    m = location_message(45.5, -73.6);
    m.location = smooch::location{};
    m.location->extra = json_object{{"zoom", nan}};
    expect_invalid(m, "location.zoom", "finite");

    m = text_message();
    m.display_settings = display_settings{};
    m.display_settings->extra = json_object{{"w", inf}};
    expect_invalid(m, "displaySettings.w", "finite");
    m = text_message();
    m.destination = smooch::destination{};
    m.destination->integration_id = "5a";
    m.destination->extra = json_object{{"priority", nan}};
    expect_invalid(m, "destination.priority", "finite");

    field_post f = select_field("s", 2);
    f.extra = json_object{{"rows", inf}};
    expect_invalid(form({f}), "fields[0].rows", "finite");
    f = select_field("s", 2);
    (*f.options)[1].extra = json_object{{"rank", -inf}};
    expect_invalid(form({f}), "fields[0].options[1].rank", "finite");

    // What validate() accepts serializes as JSON that parses back.
    m = text_message();
    m.metadata = json_object{{"ratio", 0.1}};
    m.extra = json_object{{"x", bj::array{1e300, -0.0}}};
    expect_valid(m);
    diagnostics diag;
    BOOST_TEST(!!parse<message_post>(serialize(m), diag), diag.message);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(validate_activity)

BOOST_AUTO_TEST_CASE(role_must_be_app_maker)
{
    conversation_activity a;
    expect_valid(a);
    a.role = role::app_user;
    expect_invalid(a, "role", "must be appMaker");
    a.role = "robot";
    expect_invalid(a, "role", "\"robot\"");
}

BOOST_AUTO_TEST_CASE(type_is_one_of_three)
{
    conversation_activity a;
    for (const auto t : {activity_type::typing_start, activity_type::typing_stop, activity_type::conversation_read}) {
        a.type = t;
        expect_valid(a);
    }
    a.type = "typing:pause";
    expect_invalid(a, "type", "typing:start");
    a.type = "";
    expect_invalid(a, "type");
}

BOOST_AUTO_TEST_CASE(unknown_keys_are_finite)
{
    conversation_activity a;
    a.extra = json_object{{"x-level", 2.5}};
    expect_valid(a);
    a.extra = json_object{{"x-level", std::numeric_limits<double>::infinity()}};
    expect_invalid(a, "x-level", "finite");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(validate_query)

BOOST_AUTO_TEST_CASE(before_after_exclusive)
{
    get_messages_query q;
    expect_valid(q);
    q.before = "1471995721";
    expect_valid(q);
    q.after = "1439220041.586";
    expect_invalid(q, "before/after", "mutually exclusive");
    q.before.reset();
    expect_valid(q);
}

BOOST_AUTO_TEST_CASE(cursor_is_a_decimal_number)
{
    for (const char* good : {"0", "1471995721", "1439220041.586", "1439220041.5860000"}) {
        get_messages_query q;
        q.before = good;
        expect_valid(q);
        q.before.reset();
        q.after = good;
        expect_valid(q);
    }
    for (const char* bad : {"", "yesterday", "-1", "1.", ".5", "1e9", "1,5", " 1", "1 ", "+1", "1.2.3", "0x10"}) {
        get_messages_query q;
        q.before = bad;
        expect_invalid(q, "before", "decimal number");
        q.before.reset();
        q.after = bad;
        expect_invalid(q, "after", "decimal number");
    }
}

BOOST_AUTO_TEST_CASE(prepare_validates_once_and_keeps_the_serialized_body)
{
    message_post m;
    m.role = role::app_maker;
    m.type = message_type::text;
    m.text = "hi";
    diagnostics diag;
    auto p = prepared_message_post::prepare(m, diag);
    BOOST_REQUIRE(p.has_value());
    BOOST_TEST(p->json() == serialize(m));
    const auto copy = *p;  // copyable: one body for many posts
    BOOST_TEST(copy.json() == p->json());

    m.text.reset();  // a text message needs text or actions: prepare fails as validate() does
    auto bad = prepared_message_post::prepare(m, diag);
    BOOST_TEST((bad.error() == client_errc::invalid_request));
    BOOST_TEST(diag.message.rfind("text: ", 0) == 0u, diag.message);

    m.text = "t\xe9";  // Latin-1: the UTF-8 check runs on the serialized text too
    diag.clear();
    auto latin = prepared_message_post::prepare(m, diag);
    BOOST_TEST((latin.error() == client_errc::invalid_request));
    BOOST_TEST(diag.message.find("UTF-8") != std::string::npos, diag.message);
}

BOOST_AUTO_TEST_SUITE_END()

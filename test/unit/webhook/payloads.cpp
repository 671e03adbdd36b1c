// SPDX-License-Identifier: BSL-1.0
// Webhook payloads: the v1.1 shapes of reference.md §10 (and the trigger payloads of the v1 docs it cites) parse
// into the models with nothing lost; generated payloads round-trip; hostile input gives errors that name the
// JSON path, never a crash or a silent default.

#include <smooch/json.hpp>
#include <smooch/webhook.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace bj = boost::json;
using namespace smooch;

namespace {

webhook_payload parse_ok(std::string_view text)
{
    diagnostics diag;
    auto r = parse<webhook_payload>(text, diag);
    BOOST_TEST_REQUIRE(r.has_value(), diag.message);
    // The tree reader agrees with the streaming one.
    auto tree = from_json<webhook_payload>(bj::parse(text), diag);
    BOOST_TEST_REQUIRE(tree.has_value(), diag.message);
    BOOST_TEST_REQUIRE((*tree == *r));
    // And nothing is lost: serialize, parse again, same model.
    auto again = parse<webhook_payload>(serialize(*r), diag);
    BOOST_TEST_REQUIRE(again.has_value(), diag.message);
    BOOST_TEST_REQUIRE((*again == *r));
    return *r;
}

std::string parse_error(std::string_view text, client_errc code)
{
    diagnostics diag;
    auto r = parse<webhook_payload>(text, diag);
    BOOST_TEST(!r.has_value(), "expected an error for " << text.substr(0, 200));
    if (r.has_value()) return {};
    BOOST_TEST((r.error() == code), r.error().message() << " for " << text.substr(0, 200));
    // The tree reader gives the same type errors.
    if (code == client_errc::unexpected_json) {
        diagnostics tdiag;
        auto t = from_json<webhook_payload>(bj::parse(text), tdiag);
        BOOST_TEST(!t.has_value());
        BOOST_TEST(tdiag.message == diag.message);
    }
    return diag.message;
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

// The shapes of reference.md §10 and of the v1 docs' trigger payloads it cites; ids are made up.
const std::string message_app_user = R"({
  "trigger": "message:appUser",
  "app": {"_id": "5698edbf2a43bd081be982f1"},
  "version": "v1.1",
  "messages": [{
    "_id": "55c8c1498590aa1900b9b9b1", "type": "text", "text": "Hi! Do you have time to chat?",
    "role": "appUser", "authorId": "c7f6e6d6c3a637261bd9656f", "name": "Steve", "received": 1444348338.704,
    "source": {"type": "messenger", "id": "internal-1"}
  }],
  "appUser": {
    "_id": "c7f6e6d6c3a637261bd9656f", "userId": "bob@example.com", "properties": {"plan": "pro"},
    "signedUpAt": "2015-10-06T03:38:02.346Z", "conversationStarted": true,
    "clients": [{"active": true, "id": "5A7F8343-DF41-46A8-96EC-8583FCB422FB",
                 "lastSeen": "2016-03-09T19:09:01.431Z", "platform": "messenger", "raw": {"x": 1}}]
  },
  "conversation": {"_id": "df0ebe56cbeab98589b8bfa7"}
})";

const std::string postback_payload = R"({
  "trigger": "postback", "app": {"_id": "a1"}, "version": "v1.1",
  "postbacks": [{
    "message": {"_id": "m1", "text": "More?", "type": "text", "role": "appMaker", "received": 1444348338.704,
                "actions": [{"_id": "b1", "type": "postback", "text": "Yes", "payload": "YES"}]},
    "action": {"_id": "b1", "type": "postback", "text": "Read more", "payload": "YES"}
  }, {
    "action": {"_id": "b2", "type": "postback", "text": "Menu", "payload": "MENU"}
  }],
  "appUser": {"_id": "u1", "userId": "bob"}
})";

const std::string conversation_read = R"({"trigger":"conversation:read","app":{"_id":"a1"},"version":"v1.1",
  "source":{"type":"messenger"},"appUser":{"_id":"7685787bf0e9e8cf56182288"},"conversation":{"_id":"c1"},
  "timestamp":1480349392.103})";

const std::string delivery_failure = R"({"trigger":"delivery:failure","app":{"_id":"a1"},"version":"v1.1",
  "appUser":{"_id":"u1","userId":"123"},"destination":{"type":"line"},
  "error":{"code":"unauthorized","underlyingError":{"message":"invalid token"}},
  "messages":[{"_id":"m9","text":"Hi","role":"appMaker","type":"text","received":1480001711.288}],
  "timestamp":1480001711.941})";

const std::string merge_app_user = R"({"trigger":"merge:appUser","app":{"_id":"a1"},"version":"v1.1",
  "surviving":{"_id":"u1","userId":"bob","conversationStarted":true},
  "discarded":[{"_id":"u2","conversationStarted":false},{"_id":"u3"}]})";

const std::string payment_success = R"({"trigger":"payment:success","app":{"_id":"a1"},"version":"v1.1",
  "appUser":{"_id":"u1"},"timestamp":1484258666.455,
  "payments":[{"source":{"type":"messenger"},
    "message":{"_id":"m2","type":"text","role":"appMaker","text":"Buy vinegar",
               "actions":[{"_id":"b3","type":"buy","text":"Buy","amount":1000,"currency":"usd","state":"paid"}]},
    "action":{"_id":"b3","type":"buy","text":"Buy","amount":1000,"currency":"usd","state":"paid",
              "uri":"https://app.smooch.io/checkout/b3"},
    "charge":{"id":"ch_19dPrCHQ7f2U7NYSZ45OspXT"}}]})";

}  // namespace

BOOST_AUTO_TEST_SUITE(wire)

BOOST_AUTO_TEST_CASE(message_app_user_text)
{
    const auto p = parse_ok(message_app_user);
    BOOST_TEST((p.trigger == webhook_trigger::message_app_user));
    BOOST_TEST(p.app->id.value() == "5698edbf2a43bd081be982f1");
    BOOST_TEST(p.version.value() == "v1.1");
    BOOST_TEST_REQUIRE(p.messages->size() == 1u);
    const message& m = p.messages->front();
    BOOST_TEST(m.id.value() == "55c8c1498590aa1900b9b9b1");
    BOOST_TEST((m.role.value() == role::app_user));
    BOOST_TEST((m.type.value() == message_type::text));
    BOOST_TEST(m.received.value() == 1444348338.704);
    BOOST_TEST((m.source->type.value() == integration_type::messenger));
    BOOST_TEST(p.app_user->user_id.value() == "bob@example.com");
    BOOST_TEST(p.app_user->conversation_started.value());
    BOOST_TEST(p.app_user->properties->at("plan").as_string() == "pro");
    BOOST_TEST_REQUIRE(p.app_user->clients->size() == 1u);
    const auto& c = p.app_user->clients->front();
    BOOST_TEST(c.active.value());
    BOOST_TEST((c.platform.value() == integration_type::messenger));
    BOOST_TEST(c.extra.at("raw").at("x").as_int64() == 1);  // unknown keys are kept
    BOOST_TEST(p.conversation->id.value() == "df0ebe56cbeab98589b8bfa7");
}

BOOST_AUTO_TEST_CASE(postbacks)
{
    const auto p = parse_ok(postback_payload);
    BOOST_TEST((p.trigger == webhook_trigger::postback));
    BOOST_TEST_REQUIRE(p.postbacks->size() == 2u);
    BOOST_TEST(p.postbacks->at(0).action->payload.value() == "YES");
    BOOST_TEST(p.postbacks->at(0).message->actions->front().id.value() == "b1");
    BOOST_TEST(!p.postbacks->at(1).message.has_value());  // persistent menu: no message
    BOOST_TEST(!p.messages.has_value());
}

BOOST_AUTO_TEST_CASE(other_triggers)
{
    const auto read = parse_ok(conversation_read);
    BOOST_TEST((read.trigger == webhook_trigger::conversation_read));
    BOOST_TEST(read.timestamp.value() == 1480349392.103);
    BOOST_TEST(read.app_user->id.value() == "7685787bf0e9e8cf56182288");
    BOOST_TEST(!read.app_user->user_id.has_value());

    const auto fail = parse_ok(delivery_failure);
    BOOST_TEST((fail.trigger == webhook_trigger::delivery_failure));
    BOOST_TEST((fail.destination->type.value() == integration_type::line));
    BOOST_TEST(fail.error->code.value() == "unauthorized");
    BOOST_TEST(fail.error->underlying_error->at("message").as_string() == "invalid token");

    const auto merge = parse_ok(merge_app_user);
    BOOST_TEST(merge.surviving->id.value() == "u1");
    BOOST_TEST(merge.discarded->size() == 2u);

    const auto pay = parse_ok(payment_success);
    BOOST_TEST(pay.payments->front().action->amount.value() == 1000);
    BOOST_TEST(pay.payments->front().charge->at("id").as_string() == "ch_19dPrCHQ7f2U7NYSZ45OspXT");
}

BOOST_AUTO_TEST_CASE(unknown_triggers_and_keys_are_kept)
{
    const auto p = parse_ok(R"({"trigger":"conversation:typing","app":{"_id":"a","region":"eu"},"version":"v2",
        "futureList":[1,{"x":null}],"appUser":{"_id":"u","locale":"fr"},"messages":[{"_id":"m","reactions":[]}]})");
    BOOST_TEST(p.trigger.str() == "conversation:typing");
    BOOST_TEST(!p.trigger.is_known());
    BOOST_TEST(p.extra.contains("futureList"));
    BOOST_TEST(p.app->extra.at("region").as_string() == "eu");
    BOOST_TEST(p.app_user->extra.at("locale").as_string() == "fr");
    BOOST_TEST(p.messages->front().extra.contains("reactions"));
    const std::string out = serialize(p);
    BOOST_TEST(contains(out, R"("trigger":"conversation:typing")"), out);
    BOOST_TEST(contains(out, R"("futureList":[1,{"x":null}])"), out);
}

BOOST_AUTO_TEST_CASE(every_trigger_name)
{
    for (auto name : enum_names<webhook_trigger>::values) {
        const auto p = parse_ok(R"({"trigger":")" + std::string(name) + R"("})");
        BOOST_TEST(p.trigger.str() == name);
        BOOST_TEST(p.trigger.is_known());
    }
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

class generator {
public:
    explicit generator(std::uint32_t seed) : rng_(seed) {}
    bool coin(unsigned percent = 50) { return rng_() % 100 < percent; }
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }
    std::string text()
    {
        static const std::vector<std::string> pieces = {"",
                                                        "Steve",
                                                        "quote\" back\\slash",
                                                        "tab\tnl\n",
                                                        std::string("nul\0b", 5),
                                                        "caf\xc3\xa9",
                                                        "emoji \xf0\x9f\x98\x80",
                                                        "2015-10-06T03:38:02.346Z",
                                                        "message:appUser",
                                                        "{\"not\":\"json\"}"};
        return pieces[below(pieces.size())];
    }
    double number()
    {
        for (;;) {  // any finite double
            const std::uint64_t bits = std::uint64_t{rng_()} << 32 | rng_();
            double d = 0;
            std::memcpy(&d, &bits, sizeof d);
            if (std::isfinite(d)) return d;
        }
    }
    template <class T, class Make>
    std::optional<T> maybe(Make make)
    {
        if (!coin()) return std::nullopt;
        return make();
    }
    std::optional<std::string> str()
    {
        return maybe<std::string>([&] { return text(); });
    }
    template <class E>
    open_enum<E> enumeration()
    {
        const auto& names = enum_names<E>::values;
        return coin(80) ? open_enum<E>(static_cast<E>(below(names.size()))) : open_enum<E>(text() + "-future");
    }
    template <class E>
    std::optional<open_enum<E>> opt_enum()
    {
        return maybe<open_enum<E>>([&] { return enumeration<E>(); });
    }
    std::optional<json_object> object()
    {
        return maybe<json_object>([&] {
            json_object o;
            o[text()] = bj::value(number());
            o["n"] = std::numeric_limits<std::int64_t>::min();
            o["list"] = bj::array{true, nullptr, bj::string(text())};
            return o;
        });
    }
    json_object extra()
    {
        json_object o;
        if (coin(30)) o["x-" + std::to_string(below(100))] = bj::array{1, bj::string(text())};
        return o;
    }
    template <class Make>
    auto list(Make make)
    {
        std::vector<decltype(make())> out(below(3));
        for (auto& x : out) x = make();
        return out;
    }

    message msg()
    {
        message m;
        m.id = str();
        m.author_id = str();
        m.role = opt_enum<role>();
        m.type = opt_enum<message_type>();
        m.text = str();
        m.received = maybe<double>([&] { return number(); });
        m.metadata = object();
        m.source = maybe<source>([&] { return src(); });
        m.actions = maybe<std::vector<action>>([&] { return list([&] { return act(); }); });
        m.extra = extra();
        return m;
    }
    action act()
    {
        action a;
        a.id = str();
        a.type = opt_enum<action_type>();
        a.text = str();
        a.payload = str();
        a.amount = maybe<std::int64_t>([&] { return static_cast<std::int64_t>(rng_()) - (1ll << 31); });
        a.extra = extra();
        return a;
    }
    source src()
    {
        source s;
        s.id = str();
        s.type = opt_enum<integration_type>();
        s.original_message_timestamp = maybe<double>([&] { return number(); });
        s.extra = extra();
        return s;
    }
    app_user_client client()
    {
        app_user_client c;
        c.id = str();
        c.active = maybe<bool>([&] { return coin(); });
        c.platform = opt_enum<integration_type>();
        c.last_seen = str();
        c.app_version = str();
        c.linked_at = str();
        c.info = object();
        c.extra = extra();
        return c;
    }
    app_user user()
    {
        app_user u;
        u.id = str();
        u.user_id = str();
        u.properties = object();
        u.signed_up_at = str();
        u.clients = maybe<std::vector<app_user_client>>([&] { return list([&] { return client(); }); });
        u.pending_clients = maybe<std::vector<app_user_client>>([&] { return list([&] { return client(); }); });
        u.conversation_started = maybe<bool>([&] { return coin(); });
        u.credential_required = maybe<bool>([&] { return coin(); });
        u.email = str();
        u.given_name = str();
        u.surname = str();
        u.extra = extra();
        return u;
    }
    webhook_payload payload()
    {
        webhook_payload p;
        p.trigger = enumeration<webhook_trigger>();
        p.app = maybe<webhook_app>([&] { return webhook_app{str(), extra()}; });
        p.version = str();
        p.messages = maybe<std::vector<message>>([&] { return list([&] { return msg(); }); });
        p.app_user = maybe<app_user>([&] { return user(); });
        p.postbacks = maybe<std::vector<postback>>([&] {
            return list([&] {
                return postback{maybe<message>([&] { return msg(); }), maybe<action>([&] { return act(); }), extra()};
            });
        });
        p.conversation = maybe<conversation>([&] {
            conversation c;
            c.id = str();
            c.unread_count = maybe<std::int64_t>([&] { return std::int64_t{7}; });
            return c;
        });
        p.source = maybe<source>([&] { return src(); });
        p.destination = maybe<source>([&] { return src(); });
        p.timestamp = maybe<double>([&] { return number(); });
        p.error = maybe<delivery_error>([&] { return delivery_error{str(), str(), object(), extra()}; });
        p.surviving = maybe<app_user>([&] { return user(); });
        p.discarded = maybe<std::vector<app_user>>([&] { return list([&] { return user(); }); });
        p.payments = maybe<std::vector<payment>>([&] {
            return list([&] {
                return payment{maybe<source>([&] { return src(); }), maybe<message>([&] { return msg(); }),
                               maybe<action>([&] { return act(); }), object(), extra()};
            });
        });
        p.client = maybe<app_user_client>([&] { return client(); });
        p.extra = extra();
        return p;
    }

private:
    std::mt19937 rng_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(roundtrip)

BOOST_AUTO_TEST_CASE(generated_payloads_survive_serialize_and_parse)
{
    generator g(15);
    for (int i = 0; i < 2000; ++i) {
        const webhook_payload p = g.payload();
        const std::string text = serialize(p);
        diagnostics diag;
        auto back = parse<webhook_payload>(text, diag);
        BOOST_TEST_REQUIRE(back.has_value(), diag.message << " in " << text);
        BOOST_TEST_REQUIRE((*back == p), text);
        // The tree form agrees.
        auto tree = from_json<webhook_payload>(to_json(p), diag);
        BOOST_TEST_REQUIRE(tree.has_value(), diag.message);
        BOOST_TEST_REQUIRE((*tree == p), text);
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hostile)

BOOST_AUTO_TEST_CASE(the_trigger_is_required)
{
    BOOST_TEST(parse_error(R"({"app":{"_id":"a"}})", client_errc::unexpected_json) == "trigger: required key missing");
    BOOST_TEST(parse_error(R"({"trigger":null})", client_errc::unexpected_json) == "trigger: expected string");
    BOOST_TEST(parse_error(R"({"trigger":7})", client_errc::unexpected_json) == "trigger: expected string");
}

BOOST_AUTO_TEST_CASE(wrong_types_name_the_path)
{
    struct row {
        const char* json;
        const char* message;
    };
    const row rows[] = {
        {R"([])", "(root): expected object"},
        {R"("message:appUser")", "(root): expected object"},
        {R"({"trigger":"t","app":"a1"})", "app: expected object"},
        {R"({"trigger":"t","app":{"_id":1}})", "app._id: expected string"},
        {R"({"trigger":"t","version":1.1})", "version: expected string"},
        {R"({"trigger":"t","messages":{}})", "messages: expected array"},
        {R"({"trigger":"t","messages":[{"received":"now"}]})", "messages[0].received: expected number"},
        {R"({"trigger":"t","messages":[{},{"source":{"type":[]}}]})", "messages[1].source.type: expected string"},
        {R"({"trigger":"t","appUser":[]})", "appUser: expected object"},
        {R"({"trigger":"t","appUser":{"conversationStarted":"yes"}})", "appUser.conversationStarted: expected boolean"},
        {R"({"trigger":"t","appUser":{"properties":[]}})", "appUser.properties: expected object"},
        {R"({"trigger":"t","appUser":{"clients":[{"active":1}]}})", "appUser.clients[0].active: expected boolean"},
        {R"({"trigger":"t","postbacks":[{"action":{"amount":1.5}}]})", "postbacks[0].action.amount: expected integer"},
        {R"({"trigger":"t","postbacks":[{"message":{"actions":[{"payload":{}}]}}]})",
         "postbacks[0].message.actions[0].payload: expected string"},
        {R"({"trigger":"t","conversation":{"_id":false}})", "conversation._id: expected string"},
        {R"({"trigger":"t","timestamp":"1480349392.103"})", "timestamp: expected number"},
        {R"({"trigger":"t","error":{"underlyingError":"x"}})", "error.underlyingError: expected object"},
        {R"({"trigger":"t","discarded":[{"_id":"u"},{"userId":3}]})", "discarded[1].userId: expected string"},
        {R"({"trigger":"t","payments":[{"charge":[]}]})", "payments[0].charge: expected object"},
        {R"({"trigger":"t","client":{"platform":0}})", "client.platform: expected string"},
    };
    for (const row& r : rows) BOOST_TEST(parse_error(r.json, client_errc::unexpected_json) == r.message, r.json);
}

BOOST_AUTO_TEST_CASE(malformed_json)
{
    BOOST_TEST(contains(parse_error("", client_errc::invalid_json), "incomplete JSON"));
    BOOST_TEST(contains(parse_error(message_app_user.substr(0, 100), client_errc::invalid_json), "invalid JSON"));
    BOOST_TEST(contains(parse_error(R"({"trigger":"t"} x)", client_errc::invalid_json), "text after the JSON value"));
    // Every prefix of a valid payload fails as invalid JSON.
    for (std::size_t n = 0; n < conversation_read.size(); ++n) {
        diagnostics diag;
        auto r = parse<webhook_payload>(std::string_view(conversation_read).substr(0, n), diag);
        BOOST_TEST_REQUIRE(!r.has_value(), n);
        BOOST_TEST_REQUIRE((r.error() == client_errc::invalid_json), n << ": " << diag.message);
    }
}

BOOST_AUTO_TEST_CASE(deep_nesting_and_huge_numbers)
{
    for (std::size_t depth : {33u, 10'000u}) {
        std::string deep = R"({"trigger":"t","appUser":{"properties":{"a":)";
        for (std::size_t i = 0; i < depth; ++i) deep += "[";
        BOOST_TEST(contains(parse_error(deep, client_errc::invalid_json), "too deep"));
    }
    for (const char* n : {"1e999", "-1e999", "1E400"}) {
        const std::string msg =
            parse_error(std::string(R"({"trigger":"t","timestamp":)") + n + "}", client_errc::invalid_json);
        BOOST_TEST(msg == "invalid JSON at offset 27: number out of the range of a double");
    }
    // A 400-digit integer in an integer field is out of range, by path.
    BOOST_TEST(parse_error(R"({"trigger":"t","postbacks":[{"action":{"amount":)" + std::string(30, '9') + "}}]}",
                           client_errc::unexpected_json) ==
               "postbacks[0].action.amount: expected integer in 64-bit range");
}

BOOST_AUTO_TEST_CASE(invalid_utf8)
{
    for (const std::string& bad : {std::string("\xff"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80")}) {
        const std::string msg = parse_error(R"({"trigger":"message:appUser","messages":[{"text":")" + bad + R"("}]})",
                                            client_errc::invalid_json);
        BOOST_TEST(contains(msg, "invalid UTF-8 byte 0x"), msg);
    }
    BOOST_TEST(contains(parse_error("{\"trigger\":\"\xfe\"}", client_errc::invalid_json), "UTF-8"));
}

BOOST_AUTO_TEST_CASE(random_mutations_never_crash)
{
    std::mt19937 rng(15);
    const std::string alphabet = "{}[]\":,0123456789.eE-+ntrufals\\u\x80\xff";
    int parsed = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string text = message_app_user;
        for (int e = 1 + static_cast<int>(rng() % 4); e > 0 && !text.empty(); --e) {
            const std::size_t at = rng() % text.size();
            switch (rng() % 3) {
            case 0: text[at] = alphabet[rng() % alphabet.size()]; break;
            case 1: text.erase(at, 1 + rng() % 8); break;
            default: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
            }
        }
        diagnostics diag;
        auto r = parse<webhook_payload>(text, diag);
        if (!r) {
            BOOST_TEST_REQUIRE(!diag.message.empty());
            continue;
        }
        ++parsed;
        auto again = parse<webhook_payload>(serialize(*r), diag);
        BOOST_TEST_REQUIRE(again.has_value(), diag.message);
        BOOST_TEST_REQUIRE((*again == *r));
    }
    BOOST_TEST(parsed > 0);
}

BOOST_AUTO_TEST_SUITE_END()

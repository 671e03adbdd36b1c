// SPDX-License-Identifier: BSL-1.0
// Round trips over generated models: model -> serialize -> parse -> the same model. A seeded generator makes
// optional fields present or absent, unknown keys in `extra`, unknown enum strings, arbitrary finite doubles
// (every bit pattern, to catch any lost digit), 64-bit integers at their limits and nested quoted messages.

#include <smooch/json.hpp>
#include <smooch/models.hpp>

#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace bj = boost::json;
using namespace smooch;

namespace {

class generator {
public:
    explicit generator(std::uint32_t seed) : rng_(seed) {}

    bool coin(unsigned percent = 50) { return below(100) < percent; }

    std::size_t below(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }

    std::string text()
    {
        static const std::vector<std::string> pieces = {"",
                                                        "Steve",
                                                        "Just put some vinegar on it",
                                                        "quote\" back\\slash /",
                                                        "tab\tnewline\n\r",
                                                        std::string("nul\0byte", 8),
                                                        "\x01\x1f control",
                                                        "caf\xc3\xa9",
                                                        "\xe6\x97\xa5\xe6\x9c\xac",
                                                        "emoji \xf0\x9f\x98\x80",
                                                        "line sep \xe2\x80\xa8",
                                                        "</script>",
                                                        "https://example.org/a?b=c&d=e#f",
                                                        "1439220041.586",
                                                        "null",
                                                        "{\"not\":\"json\"}"};
        if (coin(70)) return pieces[below(pieces.size())];
        std::string s(below(40), ' ');
        for (char& c : s) c = static_cast<char>(0x20 + below(0x5f));
        return s;
    }

    double number()
    {
        switch (below(4)) {
        case 0:
            return static_cast<double>(1'000'000'000 + below(1'000'000'000)) +
                   static_cast<double>(below(1000)) / 1000.0;
        case 1: return static_cast<double>(below(200'000)) / 1000.0 - 100.0;
        default: {
            // Any finite double, including subnormals and the extremes.
            for (;;) {
                const std::uint64_t bits = std::uint64_t{rng_()} << 32 | rng_();
                double d = 0;
                std::memcpy(&d, &bits, sizeof d);
                if (std::isfinite(d)) return d;
            }
        }
        }
    }

    std::int64_t integer()
    {
        switch (below(4)) {
        case 0: return std::numeric_limits<std::int64_t>::max();
        case 1: return std::numeric_limits<std::int64_t>::min();
        case 2: return static_cast<std::int64_t>(below(200)) - 100;
        default: return static_cast<std::int64_t>(std::uint64_t{rng_()} << 32 | rng_());
        }
    }

    template <class E>
    open_enum<E> enumeration()
    {
        const auto& names = enum_names<E>::values;
        if (coin(80)) return open_enum<E>(static_cast<E>(below(names.size())));
        return open_enum<E>(coin(80) ? "future" + std::to_string(below(100)) : text());
    }

    template <class T, class Make>
    std::optional<T> maybe(Make make, unsigned percent = 50)
    {
        if (!coin(percent)) return std::nullopt;
        return make();
    }

    template <class Make>
    auto list(std::size_t max, Make make)
    {
        std::vector<decltype(make())> out(below(max + 1));
        for (auto& x : out) x = make();
        return out;
    }

    bj::value raw(int depth)
    {
        switch (below(depth > 0 ? 9 : 7)) {
        case 0: return nullptr;
        case 1: return coin();
        case 2: return integer();
        case 3: return std::numeric_limits<std::uint64_t>::max() - below(1000);
        case 4: return number();
        case 5:
        case 6: return bj::string(text());
        case 7: {
            bj::array a;
            for (std::size_t i = below(4); i > 0; --i) a.push_back(raw(depth - 1));
            return a;
        }
        default: return raw_object(depth - 1);
        }
    }

    json_object raw_object(int depth)
    {
        json_object o;
        for (std::size_t i = below(4); i > 0; --i) o[text()] = raw(depth);
        return o;
    }

    // Unknown keys: never one a model knows (all known keys are letters or "_id").
    json_object extra()
    {
        json_object o;
        if (coin(60)) return o;
        for (std::size_t i = below(3) + 1; i > 0; --i) o["x-" + std::to_string(below(1000))] = raw(2);
        return o;
    }

    std::optional<std::string> str(unsigned percent = 50)
    {
        return maybe<std::string>([&] { return text(); }, percent);
    }
    std::optional<double> dbl()
    {
        return maybe<double>([&] { return number(); });
    }
    std::optional<std::int64_t> i64()
    {
        return maybe<std::int64_t>([&] { return integer(); });
    }
    std::optional<bool> boolean()
    {
        return maybe<bool>([&] { return coin(); });
    }
    std::optional<json_object> object()
    {
        return maybe<json_object>([&] { return raw_object(2); });
    }
    template <class E>
    std::optional<open_enum<E>> opt_enum()
    {
        return maybe<open_enum<E>>([&] { return enumeration<E>(); });
    }

    smooch::action action()
    {
        smooch::action a;
        a.type = opt_enum<action_type>();
        a.text = str();
        a.payload = str();
        a.metadata = object();
        a.amount = i64();
        a.currency = str(20);
        a.is_default = boolean();
        a.icon_url = str(20);
        a.uri = str();
        a.fallback = str(20);
        a.size = opt_enum<action_size>();
        a.extra_channel_options = maybe<json_object>([&] { return raw_object(3); }, 20);
        a.open_on_receive = boolean();
        a.id = str();
        a.state = str(20);
        a.extra = extra();
        return a;
    }

    std::optional<std::vector<smooch::action>> actions()
    {
        return maybe<std::vector<smooch::action>>([&] { return list(3, [&] { return action(); }); });
    }

    message_item item()
    {
        message_item i;
        i.title = str(80);
        i.description = str();
        i.media_url = str();
        i.alt_text = str();
        i.size = opt_enum<item_size>();
        i.media_type = str();
        i.actions = actions();
        i.id = str();
        i.extra = extra();
        return i;
    }

    std::optional<std::vector<message_item>> items()
    {
        return maybe<std::vector<message_item>>([&] { return list(3, [&] { return item(); }); }, 30);
    }

    std::optional<smooch::display_settings> display()
    {
        return maybe<smooch::display_settings>(
            [&] {
                smooch::display_settings d;
                d.image_aspect_ratio = opt_enum<image_aspect_ratio>();
                d.extra = extra();
                return d;
            },
            30);
    }

    std::optional<smooch::coordinates> coords()
    {
        return maybe<smooch::coordinates>(
            [&] {
                smooch::coordinates c;
                c.lat = dbl();
                c.long_ = dbl();
                c.id = str();
                c.extra = extra();
                return c;
            },
            30);
    }

    std::optional<smooch::location> place()
    {
        return maybe<smooch::location>(
            [&] {
                smooch::location l;
                l.address = str();
                l.name = str();
                l.extra = extra();
                return l;
            },
            30);
    }

    std::optional<std::vector<smooch::option>> options()
    {
        return maybe<std::vector<smooch::option>>(
            [&] {
                return list(3, [&] {
                    smooch::option o;
                    o.name = str(80);
                    o.label = str(80);
                    o.extra = extra();
                    return o;
                });
            },
            30);
    }

    smooch::field field()
    {
        smooch::field f;
        f.id = str();
        f.type = opt_enum<field_type>();
        f.name = str();
        f.label = str();
        f.placeholder = str(20);
        f.min_size = i64();
        f.max_size = i64();
        f.options = options();
        f.select_size = i64();
        f.text = str(20);
        f.email = str(20);
        f.select = maybe<std::vector<select_choice>>(
            [&] {
                return list(2, [&] {
                    select_choice s;
                    s.id = str();
                    s.name = str();
                    s.label = str();
                    s.extra = extra();
                    return s;
                });
            },
            20);
        f.extra = extra();
        return f;
    }

    smooch::message message(int depth)
    {
        smooch::message m;
        m.id = str(80);
        m.author_id = str();
        m.role = opt_enum<smooch::role>();
        m.type = opt_enum<message_type>();
        m.source = maybe<smooch::source>(
            [&] {
                smooch::source s;
                s.id = str();
                s.type = opt_enum<integration_type>();
                s.original_message_id = str(30);
                s.original_message_timestamp = maybe<double>([&] { return number(); }, 30);
                s.extra = extra();
                return s;
            },
            40);
        m.name = str();
        m.text = str(70);
        m.email = str(20);
        m.avatar_url = str();
        m.received = dbl();
        m.media_url = str(30);
        m.media_type = str(30);
        m.alt_text = str(20);
        m.metadata = object();
        m.items = items();
        m.actions = actions();
        m.payload = str(20);
        m.display_settings = display();
        m.block_chat_input = boolean();
        m.fields = maybe<std::vector<smooch::field>>([&] { return list(2, [&] { return field(); }); }, 20);
        m.submitted = boolean();
        if (depth > 0 && coin(30)) {
            smooch::quoted_message q;
            q.type = opt_enum<quoted_message_type>();
            q.external_message_id = str(30);
            if (coin(70)) q.content = message(depth - 1);
            q.extra = extra();
            m.quoted_message = std::move(q);
        }
        m.text_fallback = str(20);
        m.coordinates = coords();
        m.location = place();
        m.extra = extra();
        return m;
    }

    std::optional<smooch::conversation> conversation()
    {
        return maybe<smooch::conversation>(
            [&] {
                smooch::conversation c;
                c.id = str(80);
                c.unread_count = i64();
                c.extra = extra();
                return c;
            },
            70);
    }

    message_response response()
    {
        message_response r;
        r.message = maybe<smooch::message>([&] { return message(3); }, 80);
        r.extra_messages = maybe<std::vector<smooch::message>>([&] { return list(2, [&] { return message(1); }); }, 30);
        r.conversation = conversation();
        r.extra = extra();
        return r;
    }

    get_messages_response page()
    {
        get_messages_response r;
        r.conversation = conversation();
        r.messages = maybe<std::vector<smooch::message>>([&] { return list(5, [&] { return message(2); }); }, 80);
        r.next = str();
        r.previous = str();
        r.extra = extra();
        return r;
    }

    message_post post()
    {
        message_post m;
        m.role = enumeration<smooch::role>();
        m.type = enumeration<message_type>();
        m.name = str();
        m.email = str(20);
        m.avatar_url = str(20);
        m.metadata = object();
        m.payload = str(20);
        m.text = str(70);
        m.media_url = str(30);
        m.media_type = str(30);
        m.alt_text = str(20);
        m.items = items();
        m.actions = actions();
        m.block_chat_input = boolean();
        m.display_settings = display();
        m.fields = maybe<std::vector<field_post>>(
            [&] {
                return list(3, [&] {
                    field_post f;
                    f.type = enumeration<field_type>();
                    f.name = text();
                    f.label = text();
                    f.placeholder = str(30);
                    f.min_size = i64();
                    f.max_size = i64();
                    f.options = options();
                    f.extra = extra();
                    return f;
                });
            },
            30);
        m.destination = maybe<smooch::destination>(
            [&] {
                smooch::destination d;
                d.integration_id = str();
                d.integration_type = opt_enum<integration_type>();
                d.extra = extra();
                return d;
            },
            30);
        m.override_ = maybe<json_object>([&] { return raw_object(3); }, 20);
        m.coordinates = coords();
        m.location = place();
        m.extra = extra();
        return m;
    }

    api_error_body error_body()
    {
        api_error_body e;
        e.code = str(80);
        e.description = str(80);
        e.extra = extra();
        e.outer_extra = extra();
        e.outer_extra.erase("error");
        return e;
    }

    conversation_activity activity()
    {
        conversation_activity a;
        a.role = enumeration<smooch::role>();
        a.type = enumeration<activity_type>();
        a.name = str();
        a.avatar_url = str();
        a.extra = extra();
        return a;
    }

private:
    std::mt19937 rng_;
};

constexpr int iterations = 300;

template <class T>
void check_round_trip(const T& model, int i)
{
    const std::string text = serialize(model);
    diagnostics diag;
    auto back = parse<T>(text, diag);
    BOOST_TEST_REQUIRE(back.has_value(), "iteration " << i << ": " << diag.message << "\n" << text);
    BOOST_TEST_REQUIRE((*back == model), "iteration " << i << " differs after a round trip:\n" << text);
    // Re-serializing is stable, and the value form (no text) round-trips too.
    BOOST_TEST(serialize(*back) == text);
    auto direct = from_json<T>(to_json(model), diag);
    BOOST_TEST_REQUIRE(direct.has_value(), diag.message);
    BOOST_TEST((*direct == model));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(round_trip)

BOOST_AUTO_TEST_CASE(message_responses)
{
    generator gen(1);
    for (int i = 0; i < iterations; ++i) check_round_trip(gen.response(), i);
}

BOOST_AUTO_TEST_CASE(get_messages_responses)
{
    generator gen(2);
    for (int i = 0; i < iterations; ++i) check_round_trip(gen.page(), i);
}

BOOST_AUTO_TEST_CASE(message_posts)
{
    generator gen(3);
    for (int i = 0; i < iterations; ++i) check_round_trip(gen.post(), i);
}

BOOST_AUTO_TEST_CASE(small_types)
{
    generator gen(4);
    for (int i = 0; i < iterations; ++i) {
        check_round_trip(gen.error_body(), i);
        check_round_trip(gen.activity(), i);
        check_round_trip(activity_response{gen.conversation(), gen.extra()}, i);
        check_round_trip(gen.action(), i);
        check_round_trip(gen.field(), i);
    }
}

BOOST_AUTO_TEST_CASE(generator_covers_the_interesting_cases)
{
    // Guard against a generator that silently stops producing what the round trips are meant to cover.
    generator gen(1);
    int quoted = 0, unknown_role = 0, with_extra = 0, received = 0;
    for (int i = 0; i < iterations; ++i) {
        const message_response r = gen.response();
        if (!r.message) continue;
        quoted += r.message->quoted_message && r.message->quoted_message->content ? 1 : 0;
        unknown_role += r.message->role && !r.message->role->is_known() ? 1 : 0;
        with_extra += !r.message->extra.empty() ? 1 : 0;
        received += r.message->received ? 1 : 0;
    }
    BOOST_TEST(quoted > 10);
    BOOST_TEST(unknown_role > 5);
    BOOST_TEST(with_extra > 50);
    BOOST_TEST(received > 50);
}

BOOST_AUTO_TEST_SUITE_END()

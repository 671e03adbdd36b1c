// SPDX-License-Identifier: BSL-1.0
// Request validation (see <smooch/validate.hpp> and docs/models.md for the list of rules).
//
// Each rule comes from docs/api-facts.md ("Models", with its sources). A required string must be present and non-empty: an empty
// title, URI or payload is as useless to the server as a missing one. Unknown enum values are accepted unless a
// rule names the allowed set (role, activity type), because the server may know values this library does not.

#include "models/validate_internal.hpp"

#include <smooch/json.hpp>

#include "detail/precise_json.hpp"
#include "detail/utf8.hpp"

#include <cmath>
#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace smooch {
namespace {

// For JSON text that is well-formed except perhaps for the bytes inside its strings (what serialize()
// writes): if some string is not UTF-8, sets `path` to where it is ("items[1].title"; for a key, its
// object's path and " (a key)") and returns true.
bool find_invalid_utf8(std::string_view json, std::string& path)
{
    const std::size_t bad = detail::invalid_utf8_at(json);
    if (bad == std::string_view::npos) return false;
    // Walk the text up to the bad byte, keeping the containers it is in; it lies inside a string.
    struct level {
        bool object;
        std::string_view key;  // object: the member being read
        std::size_t index;     // array: the element being read
        bool expect_key;       // object: the next string is a key
    };
    std::vector<level> levels;
    bool in_string = false, string_is_key = false;
    std::size_t string_start = 0;
    for (std::size_t i = 0; i < bad; ++i) {
        const char c = json[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') {
                in_string = false;
                if (string_is_key) levels.back().key = json.substr(string_start, i - string_start);
            }
            continue;
        }
        switch (c) {
        case '{': levels.push_back({true, {}, 0, true}); break;
        case '[': levels.push_back({false, {}, 0, false}); break;
        case '}':
        case ']':
            if (!levels.empty()) levels.pop_back();
            break;
        case ',':
            if (!levels.empty()) {
                if (levels.back().object) levels.back().expect_key = true;
                else ++levels.back().index;
            }
            break;
        case ':':
            if (!levels.empty()) levels.back().expect_key = false;
            break;
        case '"':
            in_string = true;
            string_is_key = !levels.empty() && levels.back().object && levels.back().expect_key;
            string_start = i + 1;
            break;
        default: break;
        }
    }
    const std::size_t shown = in_string && string_is_key ? levels.size() - 1 : levels.size();
    for (std::size_t l = 0; l < shown; ++l) {
        if (levels[l].object) detail::append_path_key(path, levels[l].key);
        else detail::append_path_index(path, levels[l].index);
    }
    if (in_string && string_is_key) path += path.empty() ? "(a key)" : " (a key)";
    return true;
}

constexpr std::size_t max_items = 10;
constexpr std::size_t max_item_actions = 3;
constexpr std::size_t max_select_options = 20;

// Collects the first failure as "<path>: <rule>".
class checker {
public:
    explicit checker(diagnostics& diag) : diag_(diag) {}

    bool failed() const noexcept { return failed_; }

    void fail(const std::string& path, const std::string& rule)
    {
        if (failed_) return;
        failed_ = true;
        diag_.message = path + ": " + rule;
    }

    error_code result() const { return failed_ ? error_code(client_errc::invalid_request) : error_code(); }

private:
    diagnostics& diag_;
    bool failed_ = false;
};

// Quotes a user-supplied value for a message, cut short so a huge value cannot flood the log.
std::string quoted(std::string_view s)
{
    constexpr std::size_t limit = 40;
    std::string out = "\"";
    out.append(s.substr(0, limit));
    if (s.size() > limit) out += "...";
    out += '"';
    return out;
}

bool missing(const std::optional<std::string>& s) { return !s || s->empty(); }

std::string index(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

std::optional<action_type> known_type(const action& a)
{
    if (!a.type) return std::nullopt;
    return a.type->known();
}

// DOCS17 metadata schema: "Strings, numbers and booleans are the only supported format".
void check_metadata(checker& c, const std::string& path, const json_object& metadata)
{
    for (const auto& kv : metadata) {
        const auto& v = kv.value();
        if (v.is_string() || v.is_number() || v.is_bool()) continue;
        c.fail(path + "." + std::string(kv.key().data(), kv.key().size()),
               "metadata is flat: values must be strings, numbers or booleans");
        return;
    }
}

// --- Raw JSON (metadata, override, extraChannelOptions, unknown keys): NaN and infinities have no JSON
// spelling, so a request holding one would be serialized as invalid JSON.

// `path` names the object (empty at the root, for a request's own unknown keys); it is built only when the
// object is not empty, so requests without raw JSON pay nothing.
template <class Path>
void check_finite(checker& c, const json_object& o, Path&& path)
{
    if (c.failed() || o.empty()) return;
    std::string p = path();
    if (detail::find_non_finite(o, p)) c.fail(p, "must be a finite number (NaN and infinities have no JSON spelling)");
}

void check_action_finite(checker& c, const std::string& path, const action& a)
{
    if (a.metadata) check_finite(c, *a.metadata, [&] { return path + ".metadata"; });
    if (a.extra_channel_options)
        check_finite(c, *a.extra_channel_options, [&] { return path + ".extraChannelOptions"; });
    check_finite(c, a.extra, [&] { return path; });
}

void check_message_finite(checker& c, const message_post& m)
{
    if (m.metadata) check_finite(c, *m.metadata, [] { return std::string("metadata"); });
    if (m.override_) check_finite(c, *m.override_, [] { return std::string("override"); });
    if (m.items) {
        for (std::size_t i = 0; i < m.items->size() && !c.failed(); ++i) {
            const message_item& item = (*m.items)[i];
            if (item.actions) {
                for (std::size_t j = 0; j < item.actions->size() && !c.failed(); ++j) {
                    const action& a = (*item.actions)[j];
                    if (a.metadata || a.extra_channel_options || !a.extra.empty())
                        check_action_finite(c, index(index("items", i) + ".actions", j), a);
                }
            }
            check_finite(c, item.extra, [&] { return index("items", i); });
        }
    }
    if (m.actions) {
        for (std::size_t i = 0; i < m.actions->size() && !c.failed(); ++i) {
            const action& a = (*m.actions)[i];
            if (a.metadata || a.extra_channel_options || !a.extra.empty())
                check_action_finite(c, index("actions", i), a);
        }
    }
    if (m.display_settings) check_finite(c, m.display_settings->extra, [] { return std::string("displaySettings"); });
    if (m.destination) check_finite(c, m.destination->extra, [] { return std::string("destination"); });
    if (m.coordinates) check_finite(c, m.coordinates->extra, [] { return std::string("coordinates"); });
    if (m.location) check_finite(c, m.location->extra, [] { return std::string("location"); });
    if (m.fields) {
        for (std::size_t i = 0; i < m.fields->size() && !c.failed(); ++i) {
            const field_post& f = (*m.fields)[i];
            check_finite(c, f.extra, [&] { return index("fields", i); });
            if (!f.options) continue;
            for (std::size_t k = 0; k < f.options->size() && !c.failed(); ++k)
                check_finite(c, (*f.options)[k].extra, [&] { return index(index("fields", i) + ".options", k); });
        }
    }
    check_finite(c, m.extra, [] { return std::string(); });
}

void check_action(checker& c, const std::string& path, const action& a)
{
    if (!a.type || a.type->str().empty()) return c.fail(path + ".type", "required");
    const std::string& type = a.type->str();
    const auto known = a.type->known();

    // SPEC requires text on every action; DOCS17's share action has none.
    if (known != action_type::share && missing(a.text))
        return c.fail(path + ".text", "required for " + type + " actions");
    if ((known == action_type::postback || known == action_type::reply) && missing(a.payload))
        return c.fail(path + ".payload", "required for " + type + " actions");
    if ((known == action_type::link || known == action_type::webview) && missing(a.uri))
        return c.fail(path + ".uri", "required for " + type + " actions");
    if (known == action_type::webview && missing(a.fallback))
        return c.fail(path + ".fallback", "required for webview actions");
    if (known == action_type::buy) {
        if (!a.amount) return c.fail(path + ".amount", "required for buy actions");
        if (*a.amount <= 0)
            return c.fail(path + ".amount", "must be a positive number of cents, got " + std::to_string(*a.amount));
    }
    if (a.metadata) check_metadata(c, path + ".metadata", *a.metadata);
}

// Checks each action, then the rules about the list as a whole.
void check_actions(checker& c, const std::string& path, const std::vector<action>& actions)
{
    for (std::size_t i = 0; i < actions.size() && !c.failed(); ++i) check_action(c, index(path, i), actions[i]);
    if (c.failed()) return;

    // DOCS17: reply and locationRequest actions "can be sent either alone or with" each other; any other type in
    // the same message is rejected.
    bool quick_reply = false;
    for (const auto& a : actions) {
        const auto t = known_type(a);
        quick_reply = quick_reply || t == action_type::reply || t == action_type::location_request;
    }
    if (quick_reply) {
        for (std::size_t i = 0; i < actions.size(); ++i) {
            const auto t = known_type(actions[i]);
            if (t == action_type::reply || t == action_type::location_request) continue;
            return c.fail(index(path, i) + ".type",
                          "reply and locationRequest actions may only be mixed with each other, got " +
                              quoted(actions[i].type->str()));
        }
    }

    // SPEC: openOnReceive opens a webview automatically, one per message.
    std::size_t opening = 0;
    for (std::size_t i = 0; i < actions.size(); ++i) {
        if (actions[i].open_on_receive.value_or(false) && ++opening > 1)
            return c.fail(index(path, i) + ".openOnReceive", "at most one action per message may open on receive");
    }
}

void check_items(checker& c, const std::vector<message_item>& items)
{
    for (std::size_t i = 0; i < items.size() && !c.failed(); ++i) {
        const std::string path = index("items", i);
        const message_item& item = items[i];
        if (missing(item.title)) return c.fail(path + ".title", "required");
        const std::size_t n = item.actions ? item.actions->size() : 0;
        if (n < 1 || n > max_item_actions)
            return c.fail(path + ".actions", "an item needs 1 to 3 actions, got " + std::to_string(n));
        check_actions(c, path + ".actions", *item.actions);
    }
}

void check_coordinate(checker& c, const std::string& path, const std::optional<double>& v, double limit,
                      const char* range)
{
    if (!v) return c.fail(path, "required");
    // The negated comparison also rejects NaN.
    if (!(std::isfinite(*v) && *v >= -limit && *v <= limit))
        return c.fail(path, std::string("must be a finite number in ") + range);
}

void check_coordinates(checker& c, const coordinates& co)
{
    check_coordinate(c, "coordinates.lat", co.lat, 90, "[-90, 90]");
    check_coordinate(c, "coordinates.long", co.long_, 180, "[-180, 180]");
}

void check_options(checker& c, const std::string& path, const std::vector<option>& options)
{
    std::set<std::string> names;
    for (std::size_t i = 0; i < options.size(); ++i) {
        const std::string p = index(path, i);
        if (missing(options[i].name)) return c.fail(p + ".name", "required");
        if (missing(options[i].label)) return c.fail(p + ".label", "required");
        if (!names.insert(*options[i].name).second)
            return c.fail(p + ".name", "must be unique within the field, " + quoted(*options[i].name) + " repeats");
    }
}

void check_fields(checker& c, const std::vector<field_post>& fields)
{
    std::set<std::string> names;
    for (std::size_t i = 0; i < fields.size() && !c.failed(); ++i) {
        const std::string path = index("fields", i);
        const field_post& f = fields[i];
        if (f.type.str().empty()) return c.fail(path + ".type", "required");
        if (f.name.empty()) return c.fail(path + ".name", "required");
        if (f.label.empty()) return c.fail(path + ".label", "required");
        if (!names.insert(f.name).second)
            return c.fail(path + ".name", "must be unique within the form, " + quoted(f.name) + " repeats");
        if (f.type == field_type::select) {
            const std::size_t n = f.options ? f.options->size() : 0;
            if (n < 1 || n > max_select_options)
                return c.fail(path + ".options", "a select field needs 1 to 20 options, got " + std::to_string(n));
        }
        if (f.options) check_options(c, path + ".options", *f.options);
    }
}

void check_message(checker& c, const message_post& m)
{
    const auto role = m.role.known();
    if (role != smooch::role::app_maker && role != smooch::role::app_user)
        return c.fail("role", "must be appMaker or appUser, got " + quoted(m.role.str()));
    if (m.type.str().empty()) return c.fail("type", "required");

    const bool has_actions = m.actions && !m.actions->empty();
    const std::string& type = m.type.str();
    switch (m.type.known().value_or(message_type::form_response)) {
    case message_type::text:
        if (missing(m.text) && !has_actions) return c.fail("text", "a text message needs text or actions");
        break;
    case message_type::image:
    case message_type::file:
        if (missing(m.media_url)) return c.fail("mediaUrl", "required for " + type + " messages");
        break;
    case message_type::carousel:
    case message_type::list: {
        const std::size_t n = m.items ? m.items->size() : 0;
        if (n < 1 || n > max_items)
            return c.fail("items", "a " + type + " needs 1 to 10 items, got " + std::to_string(n));
        break;
    }
    case message_type::location:
        if (!m.coordinates) return c.fail("coordinates", "required for location messages");
        break;
    case message_type::form:
        if (!m.fields || m.fields->empty()) return c.fail("fields", "a form needs at least one field");
        break;
    case message_type::form_response: break;  // and unknown types: the server decides
    }

    if (m.metadata) check_metadata(c, "metadata", *m.metadata);
    if (c.failed()) return;
    if (m.items) check_items(c, *m.items);
    if (c.failed()) return;
    if (has_actions) {
        // DOCS17: "Action buttons can only be attached to messages with a role of appMaker."
        if (role != smooch::role::app_maker) return c.fail("actions", "only appMaker messages may have actions");
        check_actions(c, "actions", *m.actions);
        if (c.failed()) return;
    }
    if (m.coordinates) check_coordinates(c, *m.coordinates);
    if (c.failed()) return;
    if (m.fields) check_fields(c, *m.fields);
    if (c.failed()) return;
    if (m.destination) {
        // DOCS17 channel targeting: "provide one of" integrationId, integrationType; appMaker messages only.
        if (missing(m.destination->integration_id) && !m.destination->integration_type)
            return c.fail("destination", "needs integrationId or integrationType");
        if (role != smooch::role::app_maker)
            return c.fail("destination", "only appMaker messages may set a destination");
    }
    check_message_finite(c, m);
}

// A before/after cursor: unix seconds, optionally with a decimal fraction ("1471995721", "1439220041.586").
bool is_cursor(std::string_view s)
{
    const auto digits = [](std::string_view d) {
        if (d.empty()) return false;
        for (char ch : d)
            if (ch < '0' || ch > '9') return false;
        return true;
    };
    const auto dot = s.find('.');
    if (dot == std::string_view::npos) return digits(s);
    return digits(s.substr(0, dot)) && digits(s.substr(dot + 1));
}

}  // namespace

error_code detail::validate_fields(const message_post& m, diagnostics& diag)
{
    checker c(diag);
    check_message(c, m);
    return c.result();
}

error_code detail::validate_utf8(std::string_view body, diagnostics& diag)
{
    std::string path;
    if (!find_invalid_utf8(body, path)) return {};
    checker c(diag);
    c.fail(path, "not valid UTF-8 (JSON text must be UTF-8)");
    return c.result();
}

error_code validate(const message_post& m, diagnostics& diag)
{
    const auto prepared = prepared_message_post::prepare(m, diag);
    return prepared ? error_code{} : prepared.error();
}

boost::system::result<prepared_message_post> prepared_message_post::prepare(const message_post& body, diagnostics& diag)
{
    if (auto ec = detail::validate_fields(body, diag)) return ec;
    std::string json = serialize(body);
    if (auto ec = detail::validate_utf8(json, diag)) return ec;
    return prepared_message_post(std::move(json));
}

error_code validate(const conversation_activity& a, diagnostics& diag)
{
    if (auto ec = detail::validate_fields(a, diag)) return ec;
    return detail::validate_utf8(serialize(a), diag);
}

error_code detail::validate_fields(const conversation_activity& a, diagnostics& diag)
{
    checker c(diag);
    if (a.role != role::app_maker) {
        c.fail("role", "must be appMaker, got " + quoted(a.role.str()));
    } else if (!a.type.is_known()) {
        c.fail("type", "must be typing:start, typing:stop or conversation:read, got " + quoted(a.type.str()));
    }
    check_finite(c, a.extra, [] { return std::string(); });
    return c.result();
}

error_code validate(const get_messages_query& q, diagnostics& diag)
{
    checker c(diag);
    if (q.before && q.after) {
        c.fail("before/after", "mutually exclusive");
    } else if (q.before && !is_cursor(*q.before)) {
        c.fail("before", "must be unix seconds as a decimal number (e.g. 1439220041.586), got " + quoted(*q.before));
    } else if (q.after && !is_cursor(*q.after)) {
        c.fail("after", "must be unix seconds as a decimal number (e.g. 1439220041.586), got " + quoted(*q.after));
    }
    return c.result();
}

}  // namespace smooch

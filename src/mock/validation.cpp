// SPDX-License-Identifier: BSL-1.0
// The API's semantic checks of request bodies (validation.hpp). Where the reference is unsure (enum values,
// mediaType, channel-specific limits), the request is accepted.

#include "mock/validation.hpp"

#include "detail/precise_json.hpp"
#include "mock/codec.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <initializer_list>
#include <set>

namespace smooch::mock::detail {

namespace json = boost::json;

std::string parse_body(std::string_view text, json::value& out)
{
    // Correctly rounded numbers; one beyond the double range is kept as an infinity so it can be named below.
    const auto r = smooch::detail::parse_precise(text, out, smooch::detail::out_of_range_numbers::keep_infinity);
    if (r.ec) return "Malformed JSON body: " + r.ec.message();
    if (!out.is_object()) return "The body must be a JSON object";
    if (r.out_of_range) {
        std::string path;
        // Not found: the number was in a duplicate key that parsing dropped.
        if (!smooch::detail::find_non_finite(out.get_object(), path)) path = "a number";
        return path + " must be a finite number: it is beyond the range of a double";
    }
    return {};
}

namespace {

const char* kind_name(json::kind k)
{
    switch (k) {
    case json::kind::string: return "a string";
    case json::kind::object: return "an object";
    case json::kind::array: return "an array";
    case json::kind::bool_: return "a boolean";
    case json::kind::null: return "null";
    default: return "a number";
    }
}

// --- Validation of post_message (docs/api-facts.md#models). Each check returns the 400's description naming the
// field, or an empty string.

enum class want { string, object, array, boolean, number, integer };

bool has(const json::value& v, want w)
{
    switch (w) {
    case want::string: return v.is_string();
    case want::object: return v.is_object();
    case want::array: return v.is_array();
    case want::boolean: return v.is_bool();
    case want::number: return v.is_number();
    case want::integer:
        return v.is_int64() || v.is_uint64() || (v.is_double() && std::trunc(v.get_double()) == v.get_double());
    }
    return false;
}

const char* want_name(want w)
{
    switch (w) {
    case want::string: return "a string";
    case want::object: return "an object";
    case want::array: return "an array";
    case want::boolean: return "a boolean";
    case want::number: return "a number";
    case want::integer: return "an integer";
    }
    return "";
}

std::string join(std::string_view path, std::string_view key)
{
    std::string p(path);
    if (!p.empty()) p += '.';
    p.append(key);
    return p;
}

std::string at_index(std::string_view path, std::size_t i)
{
    std::string p(path);
    p += '[';
    append_int(p, i);
    p += ']';
    return p;
}

std::string wrong_type(std::string_view path, const json::value& v, want w)
{
    return std::string(path) + " must be " + want_name(w) + ", got " + kind_name(v.kind());
}

struct typed {
    std::string_view key;
    want type;
};

/// Each listed member that is present must have its type.
std::string check_types(const json::object& o, std::string_view path, std::initializer_list<typed> fields)
{
    for (auto& f : fields)
        if (auto* v = o.if_contains(f.key); v && !has(*v, f.type)) return wrong_type(join(path, f.key), *v, f.type);
    return {};
}

/// `v` must be an object whose listed members have their types; `out` is the object (nullptr if it is not one).
std::string check_object(const json::value& v, std::string_view path, std::initializer_list<typed> fields,
                         const json::object*& out)
{
    out = v.if_object();
    if (!out) return wrong_type(path, v, want::object);
    return check_types(*out, path, fields);
}

/// A required member (present; its type is checked by check_types).
std::string require(const json::object& o, std::string_view path, std::string_view key, want w)
{
    if (o.contains(key)) return {};
    std::string_view article_and_name = want_name(w);  // "a string" -> "string"
    return join(path, key) + " is required (" + std::string(article_and_name.substr(article_and_name.find(' ') + 1)) +
           ")";
}

// DOCS17: metadata holds only strings, numbers and booleans.
std::string check_flat(const json::object& md, std::string_view path)
{
    for (auto& [k, v] : md)
        if (!v.is_string() && !v.is_number() && !v.is_bool())
            return join(path, std::string_view(k.data(), k.size())) +
                   " must be a string, number or boolean (metadata is flat)";
    return {};
}

// Action (docs/api-facts.md#actions): type and text required (a share action has no text); payload for postback/reply, uri for
// link/webview, fallback for webview, amount (integer cents) for buy. Unknown types are accepted.
std::string check_action(const json::value& v, std::string_view path)
{
    const json::object* a = nullptr;
    if (auto e = check_object(v, path,
                              {{"type", want::string},
                               {"text", want::string},
                               {"payload", want::string},
                               {"uri", want::string},
                               {"fallback", want::string},
                               {"currency", want::string},
                               {"iconUrl", want::string},
                               {"size", want::string},
                               {"metadata", want::object},
                               {"extraChannelOptions", want::object},
                               {"amount", want::integer},
                               {"default", want::boolean},
                               {"openOnReceive", want::boolean}},
                              a);
        !e.empty())
        return e;
    if (auto e = require(*a, path, "type", want::string); !e.empty()) return e;
    std::string_view t = a->at("type").get_string();
    auto needs = [&](std::string_view key) -> std::string {
        if (a->contains(key)) return {};
        return join(path, key) + " is required for " + std::string(t) + " actions";
    };
    if (t != "share")
        if (auto e = require(*a, path, "text", want::string); !e.empty()) return e;
    if (t == "postback" || t == "reply")
        if (auto e = needs("payload"); !e.empty()) return e;
    if (t == "link" || t == "webview")
        if (auto e = needs("uri"); !e.empty()) return e;
    if (t == "webview")
        if (auto e = needs("fallback"); !e.empty()) return e;
    if (t == "buy")
        if (auto e = needs("amount"); !e.empty()) return e;
    if (auto* md = a->if_contains("metadata")) return check_flat(md->get_object(), join(path, "metadata"));
    return {};
}

std::string check_actions(const json::array& actions, std::string_view path)
{
    for (std::size_t i = 0; i < actions.size(); ++i)
        if (auto e = check_action(actions[i], at_index(path, i)); !e.empty()) return e;
    return {};
}

// MessageItem (docs/api-facts.md#message-items): title required; actions required, 1 to 3.
std::string check_items(const json::array& items)
{
    for (std::size_t i = 0; i < items.size(); ++i) {
        std::string path = at_index("items", i);
        const json::object* io = nullptr;
        if (auto e = check_object(items[i], path,
                                  {{"title", want::string},
                                   {"description", want::string},
                                   {"mediaUrl", want::string},
                                   {"altText", want::string},
                                   {"size", want::string},
                                   {"mediaType", want::string},
                                   {"actions", want::array}},
                                  io);
            !e.empty())
            return e;
        if (auto e = require(*io, path, "title", want::string); !e.empty()) return e;
        auto* ia = io->if_contains("actions");
        std::size_t n = ia ? ia->get_array().size() : 0;
        if (n < 1 || n > 3) return path + ".actions must have 1 to 3 actions, got " + std::to_string(n);
        if (auto e = check_actions(ia->get_array(), path + ".actions"); !e.empty()) return e;
    }
    return {};
}

// FieldPost (docs/api-facts.md#form-fields): type, name and label required, names unique per form; options (at most 20 for a select
// field) each with a name (unique per field) and a label.
std::string check_fields(const json::array& fields)
{
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        std::string path = at_index("fields", i);
        const json::object* fo = nullptr;
        if (auto e = check_object(fields[i], path,
                                  {{"type", want::string},
                                   {"name", want::string},
                                   {"label", want::string},
                                   {"placeholder", want::string},
                                   {"minSize", want::integer},
                                   {"maxSize", want::integer},
                                   {"options", want::array}},
                                  fo);
            !e.empty())
            return e;
        for (auto key : {"type", "name", "label"})
            if (auto e = require(*fo, path, key, want::string); !e.empty()) return e;
        std::string_view name = fo->at("name").get_string();
        if (!names.insert(name).second)
            return path + ".name must be unique within the form, \"" + std::string(name) + "\" repeats";
        auto* opts = fo->if_contains("options");
        if (!opts) continue;
        auto& oa = opts->get_array();
        if (fo->at("type").get_string() == "select" && oa.size() > 20)
            return path + ".options must have at most 20 options, got " + std::to_string(oa.size());
        std::set<std::string_view> option_names;
        for (std::size_t k = 0; k < oa.size(); ++k) {
            std::string opath = at_index(path + ".options", k);
            const json::object* oo = nullptr;
            if (auto e = check_object(oa[k], opath, {{"name", want::string}, {"label", want::string}}, oo); !e.empty())
                return e;
            for (auto key : {"name", "label"})
                if (auto e = require(*oo, opath, key, want::string); !e.empty()) return e;
            std::string_view oname = oo->at("name").get_string();
            if (!option_names.insert(oname).second)
                return opath + ".name must be unique within the field, \"" + std::string(oname) + "\" repeats";
        }
    }
    return {};
}

}  // namespace

std::string validate_message(const json::object& o)
{
    if (auto e = check_types(
            o, "", {{"role", want::string},        {"type", want::string},           {"name", want::string},
                    {"email", want::string},       {"avatarUrl", want::string},      {"payload", want::string},
                    {"text", want::string},        {"mediaUrl", want::string},       {"mediaType", want::string},
                    {"altText", want::string},     {"metadata", want::object},       {"displaySettings", want::object},
                    {"destination", want::object}, {"override", want::object},       {"coordinates", want::object},
                    {"location", want::object},    {"items", want::array},           {"actions", want::array},
                    {"fields", want::array},       {"blockChatInput", want::boolean}});
        !e.empty())
        return e;

    auto* role = o.if_contains("role");
    if (!role) return "role is required";
    if (role->get_string() != "appUser" && role->get_string() != "appMaker") return "role must be appUser or appMaker";
    auto* type = o.if_contains("type");
    if (!type) return "type is required";
    std::string_view t = type->get_string();
    static constexpr std::array<std::string_view, 8> types = {"text", "image",    "file", "carousel",
                                                              "list", "location", "form", "formResponse"};
    if (std::find(types.begin(), types.end(), t) == types.end())
        return "type must be one of text, image, file, carousel, list, location, form, formResponse";
    if (auto* md = o.if_contains("metadata"))
        if (auto e = check_flat(md->get_object(), "metadata"); !e.empty()) return e;
    auto* actions = o.if_contains("actions");
    if (actions)
        if (auto e = check_actions(actions->get_array(), "actions"); !e.empty()) return e;
    bool has_actions = actions && !actions->get_array().empty();
    if (role->get_string() == "appUser") {  // DOCS17: actions and destination are appMaker-only
        if (has_actions) return "actions: only appMaker messages may have actions";
        if (o.contains("destination")) return "destination: only appMaker messages may set a destination";
    }
    if (t == "text" && !o.contains("text") && !has_actions) return "text is required for text messages";
    if ((t == "image" || t == "file") && !o.contains("mediaUrl"))
        return "mediaUrl is required for " + std::string(t) + " messages";

    auto* items = o.if_contains("items");
    if (t == "carousel" || t == "list") {
        if (!items || items->get_array().empty()) return "items is required for " + std::string(t) + " messages";
        if (items->get_array().size() > 10) return "items must have at most 10 entries";
    }
    if (items)
        if (auto e = check_items(items->get_array()); !e.empty()) return e;

    auto* coords = o.if_contains("coordinates");
    if (t == "location" && !coords) return "coordinates is required for location messages";
    if (coords) {  // lat and long required numbers (docs/api-facts.md#display-settings-destination-coordinates-location)
        auto& co = coords->get_object();
        for (auto f : {"lat", "long"}) {
            auto* v = co.if_contains(f);
            if (!v) return std::string("coordinates.") + f + " is required (number)";
            if (!v->is_number()) return wrong_type(std::string("coordinates.") + f, *v, want::number);
        }
    }
    if (auto* loc = o.if_contains("location"))
        if (auto e = check_types(loc->get_object(), "location", {{"address", want::string}, {"name", want::string}});
            !e.empty())
            return e;

    auto* fields = o.if_contains("fields");
    if (t == "form" && (!fields || fields->get_array().empty())) return "fields is required for form messages";
    if (fields)
        if (auto e = check_fields(fields->get_array()); !e.empty()) return e;

    if (auto* ds = o.if_contains("displaySettings"))  // any ratio string (open enum)
        if (auto e = check_types(ds->get_object(), "displaySettings", {{"imageAspectRatio", want::string}}); !e.empty())
            return e;
    if (auto* dest = o.if_contains("destination")) {
        // destination: SPEC requires both, DOCS17 "one of": at least one.
        auto& d = dest->get_object();
        if (auto e =
                check_types(d, "destination", {{"integrationId", want::string}, {"integrationType", want::string}});
            !e.empty())
            return e;
        if (!d.contains("integrationId") && !d.contains("integrationType"))
            return "destination needs integrationId or integrationType";
    }
    return {};
}

std::string validate_activity(const json::object& body)
{
    std::string problem;
    // The member's string, or nullptr with `problem` set (absent though required, or not a string).
    auto string_member = [&](const char* f, bool required) -> const json::string* {
        auto* v = body.if_contains(f);
        if (!v) {
            if (required) problem = std::string(f) + " is required";
            return nullptr;
        }
        if (!v->is_string()) {
            problem = std::string(f) + " must be a string, got " + kind_name(v->kind());
            return nullptr;
        }
        return &v->get_string();
    };
    auto* role = string_member("role", true);
    if (!role) return problem;
    if (*role != "appMaker") return "role must be appMaker";
    auto* type = string_member("type", true);
    if (!type) return problem;
    if (*type != "typing:start" && *type != "typing:stop" && *type != "conversation:read")
        return "type must be typing:start, typing:stop or conversation:read";
    for (auto f : {"name", "avatarUrl"})
        if (body.contains(f) && !string_member(f, false)) return problem;
    return {};
}

}  // namespace smooch::mock::detail

// SPDX-License-Identifier: BSL-1.0
// The six operations and the conversation state they change (operations.hpp).

#include "mock/operations.hpp"

#include "detail/crypto.hpp"
#include "detail/json_string.hpp"
#include "detail/percent.hpp"
#include "mock/codec.hpp"
#include "mock/webhooks.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <unordered_set>

namespace smooch::mock::detail {

namespace json = boost::json;
using smooch::detail::append_json_string;
using smooch::detail::append_segment;

namespace {

/// The request's conversation; nullptr, with the 404 filled in, if there is none.
conversation_state* existing_conversation(context& ctx)
{
    auto it = ctx.s->conversations.find(conv_view(ctx.rt.app, ctx.rt.user));
    if (it != ctx.s->conversations.end()) return &it->second;
    error(ctx.out, 404, "conversation_not_found", "No conversation exists for this app user");
    return nullptr;
}

/// 200 with an empty object: the answer of both deletes and of reset_unread_count.
bool empty_ok(http_response& out)
{
    out.status = 200;
    out.body = "{}";
    return true;
}

void append_conversation(std::string& o, const conversation_state& c)
{
    o += "{\"_id\":\"";
    o += c.rec.conversation_id;
    o += "\",\"unreadCount\":";
    append_int(o, c.rec.unread_count);
    o += '}';
}

conversation_state& create_conversation(context& ctx)
{
    auto& s = *ctx.s;
    auto it = s.conversations.find(conv_view(ctx.rt.app, ctx.rt.user));
    if (it != s.conversations.end()) return it->second;
    conversation_state c;
    c.rec.app_id = ctx.rt.app;
    c.rec.user_id = ctx.rt.user;
    c.rec.conversation_id = s.new_id();
    c.app_user_id = s.new_id();
    // appMaker: "a hash based on the appMaker's email address" in the real API; here a hash of the app id.
    auto mac = smooch::detail::hmac_sha256("appMaker", ctx.rt.app);
    for (std::size_t i = 0; i < 12; ++i) {
        c.app_maker_id += hex_digits[mac[i] >> 4];
        c.app_maker_id += hex_digits[mac[i] & 15];
    }
    return s.conversations.emplace(conv_key(ctx.rt.app, ctx.rt.user), std::move(c)).first->second;
}

/// Appends `value`, the text of an array of objects, with a generated `_id` first in each object (a posted `_id`
/// is dropped), and the same for the `actions` of each item when `items`: the API gives every message item and
/// action an id (docs/api-facts.md#ids-of-items-and-actions). Everything else as posted.
void append_with_ids(engine_state& s, std::string& j, std::string_view value, bool items)
{
    std::vector<std::string_view> elements;
    if (!split_elements(value, elements)) {
        j += value;
        return;
    }
    j += '[';
    for (std::size_t i = 0; i < elements.size(); ++i) {
        if (i) j += ',';
        raw_members members;
        if (!split_members(elements[i], members)) {  // not an object (validation rejects that): as posted
            j += elements[i];
            continue;
        }
        j += "{\"_id\":\"";
        j += s.new_id();
        j += '"';
        for (auto& m : members) {
            if (m.key == "_id") continue;
            j += ',';
            j += m.key_token;
            j += ':';
            if (items && m.key == "actions") append_with_ids(s, j, m.value, false);
            else j += m.value;
        }
        j += '}';
    }
    j += ']';
}

/// Appends every posted member but role, type and the generated keys, as posted (see split_members); items and
/// actions get their ids.
void append_posted_members(engine_state& s, std::string& j, std::string_view text, const json::object& body)
{
    auto generated = [](std::string_view k) {
        return k == "role" || k == "type" || k == "_id" || k == "authorId" || k == "received" || k == "source";
    };
    raw_members members;
    if (!split_members(text, members)) {
        // Not expected for text the parser accepted; re-serialize the parsed values rather than fail.
        for (auto& [k, v] : body) {
            if (generated(std::string_view(k.data(), k.size()))) continue;
            j += ',';
            append_json_string(j, std::string_view(k.data(), k.size()));
            j += ':';
            j += json::serialize(v);
        }
        return;
    }
    // A repeated key: the last one wins, as in the parsed object that was validated.
    auto repeated_later = [&](std::size_t i) {
        for (std::size_t k = i + 1; k < members.size(); ++k)
            if (members[k].key == members[i].key) return true;
        return false;
    };
    std::unordered_set<std::string_view> seen;  // only for many members: keeps this linear
    std::vector<bool> superseded;
    if (members.size() > 16) {
        superseded.assign(members.size(), false);
        for (std::size_t i = members.size(); i-- > 0;) superseded[i] = !seen.insert(members[i].key).second;
    }
    for (std::size_t i = 0; i < members.size(); ++i) {
        auto& m = members[i];
        if (generated(m.key) || (superseded.empty() ? repeated_later(i) : superseded[i])) continue;
        j += ',';
        j += m.key_token;
        j += ':';
        if (m.key == "items" || m.key == "actions") append_with_ids(s, j, m.value, m.key == "items");
        else j += m.value;
    }
}

void append_page_url(context& ctx, std::string& o, const char* dir, std::int64_t ms)
{
    o += '"';
    o += ctx.s->base_url;
    o += "/v1.1/apps/";
    append_segment(o, ctx.rt.app);
    o += "/appusers/";
    append_segment(o, ctx.rt.user);
    o += "/messages?";
    o += dir;
    o += '=';
    append_timestamp(o, ms);
    o += '"';
}

}  // namespace

bool post_message(context& ctx, const json::object& body)
{
    auto& s = *ctx.s;
    auto& c = create_conversation(ctx);
    std::string_view role = body.at("role").get_string();
    message_record m;
    m.id = s.new_id();
    auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    // Strictly increasing per conversation, even across deletes of the newest message.
    m.received_ms = std::max<std::int64_t>(now_ms, c.last_ms + 1);
    c.last_ms = m.received_ms;
    if (auto* t = body.if_contains("text"); t && t->is_string()) m.text = std::string(t->get_string());

    std::string& j = m.json;
    j.reserve(ctx.req.body.size() + 128);
    j += "{\"_id\":\"";
    j += m.id;
    j += "\",\"authorId\":\"";
    j += role == "appUser" ? c.app_user_id : c.app_maker_id;
    j += "\",\"role\":";
    append_json_string(j, role);
    j += ",\"type\":";
    append_json_string(j, body.at("type").get_string());
    j += ",\"received\":";
    append_timestamp(j, m.received_ms);
    j += ",\"source\":{\"type\":\"api\"}";  // posted through the API (docs/api-facts.md#post-message)
    append_posted_members(s, j, ctx.req.body, body);
    j += '}';

    if (role == "appMaker") ++c.rec.unread_count;
    c.rec.created_ids.push_back(m.id);
    c.rec.messages.push_back(std::move(m));
    webhook_for_message(ctx, c, c.rec.messages.back(), role);

    auto& o = ctx.out;
    o.status = 201;
    o.body.clear();
    o.body += "{\"message\":";
    o.body += c.rec.messages.back().json;
    o.body += ",\"conversation\":";
    append_conversation(o.body, c);
    o.body += '}';
    return true;
}

bool get_messages(context& ctx)
{
    auto before = query_param(ctx.query, "before");
    auto after = query_param(ctx.query, "after");
    if (before && after) {
        error(ctx.out, 400, "bad_request", "before and after are mutually exclusive");
        return false;
    }
    std::optional<cursor> cur;
    if (before || after) {
        cur = parse_cursor(before ? *before : *after);
        if (!cur) {
            error(ctx.out, 400, "bad_request",
                  std::string(before ? "before" : "after") +
                      " must be a Unix timestamp in seconds, e.g. 1439220041.586");
            return false;
        }
    }
    auto* c = existing_conversation(ctx);
    if (!c) return false;
    constexpr std::size_t page = 100;
    auto& msgs = c->rec.messages;
    auto by_ms = [](const message_record& m, std::int64_t v) { return m.received_ms < v; };
    std::size_t first = 0, last = msgs.size();  // [first, last)
    if (before) {
        // received < cursor: with extra sub-millisecond digits, received == cursor.ms is also before it.
        auto end = static_cast<std::size_t>(
            std::lower_bound(msgs.begin(), msgs.end(), cur->ms + (cur->extra ? 1 : 0), by_ms) - msgs.begin());
        last = end;
        first = end > page ? end - page : 0;
    } else if (after) {
        auto begin =
            static_cast<std::size_t>(std::lower_bound(msgs.begin(), msgs.end(), cur->ms + 1, by_ms) - msgs.begin());
        first = begin;
        last = std::min(msgs.size(), begin + page);
    } else {
        first = msgs.size() > page ? msgs.size() - page : 0;
    }
    auto& o = ctx.out;
    o.status = 200;
    o.body.clear();
    o.body += "{\"conversation\":";
    append_conversation(o.body, *c);
    o.body += ",\"messages\":[";
    for (std::size_t i = first; i < last; ++i) {
        if (i != first) o.body += ',';
        o.body += msgs[i].json;
    }
    o.body += ']';
    // Present exactly when more messages exist in that direction. An empty page uses the query cursor.
    bool older = first > 0, newer = last < msgs.size();
    if (newer) {
        o.body += ",\"next\":";
        append_page_url(ctx, o.body, "after", last > first ? msgs[last - 1].received_ms : msgs[last].received_ms - 1);
    }
    if (older) {
        o.body += ",\"previous\":";
        append_page_url(ctx, o.body, "before",
                        last > first ? msgs[first].received_ms : msgs[first - 1].received_ms + 1);
    }
    o.body += '}';
    return true;
}

bool delete_message(context& ctx)
{
    auto* c = existing_conversation(ctx);
    if (!c) return false;
    auto& msgs = c->rec.messages;
    auto it = std::find_if(msgs.begin(), msgs.end(), [&](const message_record& m) { return m.id == ctx.rt.message; });
    if (it == msgs.end()) {
        error(ctx.out, 404, "message_not_found", "No message with this id in the conversation");
        return false;
    }
    msgs.erase(it);
    return empty_ok(ctx.out);
}

bool delete_messages(context& ctx)
{
    auto* c = existing_conversation(ctx);
    if (!c) return false;
    c->rec.messages.clear();
    c->rec.unread_count = 0;
    return empty_ok(ctx.out);
}

bool reset_unread(context& ctx)
{
    auto* c = existing_conversation(ctx);
    if (!c) return false;
    c->rec.unread_count = 0;
    webhook_for_read(ctx, *c);
    return empty_ok(ctx.out);
}

bool activity(context& ctx)
{
    auto* c = existing_conversation(ctx);
    if (!c) return false;
    ctx.out.status = 200;
    ctx.out.body.clear();
    ctx.out.body += "{\"conversation\":";
    append_conversation(ctx.out.body, *c);
    ctx.out.body += '}';
    return true;
}

}  // namespace smooch::mock::detail

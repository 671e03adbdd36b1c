// SPDX-License-Identifier: BSL-1.0
// The record: its helpers (public in <smooch/mock/server.hpp>) and its JSON form, GET /_admin/record.

#include <smooch/mock/server.hpp>

#include "detail/json_string.hpp"
#include "mock/codec.hpp"

#include <algorithm>
#include <chrono>
#include <map>

namespace smooch::mock {

using detail::append_int;
using smooch::detail::append_json_string;

std::vector<std::string> conversation_record::message_ids() const
{
    std::vector<std::string> v;
    v.reserve(messages.size());
    for (auto& m : messages) v.push_back(m.id);
    return v;
}

std::vector<std::string> conversation_record::texts() const
{
    std::vector<std::string> v;
    v.reserve(messages.size());
    for (auto& m : messages) v.push_back(m.text.value_or(std::string{}));
    return v;
}

const conversation_record* record::find(std::string_view app, std::string_view user) const
{
    for (auto& c : conversations)
        if (c.app_id == app && c.user_id == user) return &c;
    return nullptr;
}

std::uint64_t record::operation_count(std::string_view o) const
{
    auto it = operations.find(std::string(o));
    return it == operations.end() ? 0 : it->second;
}

std::uint64_t record::fault_count(fault_action a) const
{
    auto it = faults.find(to_string(a));
    return it == faults.end() ? 0 : it->second;
}

std::size_t record::requests_before(std::string_view app, std::chrono::steady_clock::time_point t) const
{
    return static_cast<std::size_t>(std::count_if(
        requests.begin(), requests.end(), [&](const request_record& r) { return r.app_id == app && r.arrival < t; }));
}

namespace {

// The record is written by hand, without a JSON tree, like the engine's responses.

/// Appends `"key":`, after a comma unless `first` (which it clears).
std::string& member(std::string& o, bool& first, std::string_view key)
{
    if (!first) o += ',';
    first = false;
    append_json_string(o, key);
    o += ':';
    return o;
}

/// Appends `items` as a JSON array, each item written by `each`.
template <class Range, class Each>
void append_array(std::string& o, const Range& items, Each each)
{
    o += '[';
    bool first = true;
    for (auto& item : items) {
        if (!first) o += ',';
        first = false;
        each(item);
    }
    o += ']';
}

void append_counters(std::string& o, const std::map<std::string, std::uint64_t>& m)
{
    o += '{';
    bool first = true;
    for (auto& [k, v] : m) append_int(member(o, first, k), v);
    o += '}';
}

void append_conversation(std::string& o, const conversation_record& c)
{
    auto put_string = [&](std::string_view s) { append_json_string(o, s); };
    bool first = true;
    o += '{';
    append_json_string(member(o, first, "app_id"), c.app_id);
    append_json_string(member(o, first, "user_id"), c.user_id);
    append_json_string(member(o, first, "conversation_id"), c.conversation_id);
    append_int(member(o, first, "unread_count"), c.unread_count);
    append_array(member(o, first, "message_ids"), c.messages, [&](const message_record& m) { put_string(m.id); });
    append_array(member(o, first, "texts"), c.messages, [&](const message_record& m) {
        if (m.text) put_string(*m.text);
        else o += "null";
    });
    append_array(member(o, first, "created_ids"), c.created_ids, put_string);
    o += '}';
}

void append_request(std::string& o, const request_record& q)
{
    bool first = true;
    o += '{';
    append_int(member(o, first, "arrival_ns"),
               std::chrono::duration_cast<std::chrono::nanoseconds>(q.arrival.time_since_epoch()).count());
    append_json_string(member(o, first, "method"), q.method);
    append_json_string(member(o, first, "route"), q.route);
    append_json_string(member(o, first, "app_id"), q.app_id);
    append_json_string(member(o, first, "user_id"), q.user_id);
    append_int(member(o, first, "status"), q.status);
    if (q.faulted) append_json_string(member(o, first, "fault"), to_string(q.fault));
    else member(o, first, "fault") += "null";
    member(o, first, "applied") += q.applied ? "true" : "false";
    o += '}';
}

void append_webhook_attempt(std::string& o, const webhook_attempt_record& a)
{
    using std::chrono::duration_cast;
    bool first = true;
    o += '{';
    append_int(member(o, first, "delivery"), a.delivery);
    append_int(member(o, first, "attempt"), a.attempt);
    append_json_string(member(o, first, "trigger"), a.trigger);
    append_json_string(member(o, first, "app_id"), a.app_id);
    append_json_string(member(o, first, "user_id"), a.user_id);
    append_array(member(o, first, "message_ids"), a.message_ids,
                 [&](const std::string& id) { append_json_string(o, id); });
    member(o, first, "duplicate") += a.duplicate ? "true" : "false";
    append_int(member(o, first, "start_ns"),
               duration_cast<std::chrono::nanoseconds>(a.start.time_since_epoch()).count());
    append_int(member(o, first, "answer_us"), a.answer_time.count());
    append_int(member(o, first, "elapsed_us"), a.elapsed.count());
    append_int(member(o, first, "status"), a.status);
    append_json_string(member(o, first, "outcome"), to_string(a.outcome));
    append_json_string(member(o, first, "error"), a.error);
    if (a.retry_in) append_int(member(o, first, "retry_in_ms"), a.retry_in->count());
    else member(o, first, "retry_in_ms") += "null";
    o += '}';
}

}  // namespace

std::string to_json(const record& r)
{
    std::string o;
    bool first = true;
    o += '{';
    append_int(member(o, first, "requests_total"), r.requests_total);
    append_int(member(o, first, "rate_limited"), r.rate_limited);
    append_int(member(o, first, "unauthorized"), r.unauthorized);
    append_counters(member(o, first, "routed"), r.routed);
    append_counters(member(o, first, "operations"), r.operations);
    append_counters(member(o, first, "faults"), r.faults);
    append_array(member(o, first, "conversations"), r.conversations,
                 [&](const conversation_record& c) { append_conversation(o, c); });
    append_array(member(o, first, "requests"), r.requests, [&](const request_record& q) { append_request(o, q); });
    append_int(member(o, first, "webhooks_queued"), r.webhooks_queued);
    append_int(member(o, first, "webhooks_delivered"), r.webhooks_delivered);
    append_int(member(o, first, "webhooks_failed"), r.webhooks_failed);
    append_array(member(o, first, "webhook_deliveries"), r.webhook_deliveries,
                 [&](const webhook_attempt_record& a) { append_webhook_attempt(o, a); });
    o += '}';
    return o;
}

}  // namespace smooch::mock

// The record: its helpers (public in <smooch/mock/server.hpp>) and its JSON form, GET /_admin/record.

#include <smooch/mock/server.hpp>

#include "detail/json_string.hpp"
#include "mock/codec.hpp"

#include <algorithm>

namespace smooch::mock {

using smooch::detail::append_json_string;
using detail::append_int;

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
    return static_cast<std::size_t>(std::count_if(requests.begin(), requests.end(), [&](const request_record& r) {
        return r.app_id == app && r.arrival < t;
    }));
}

std::string to_json(const record& r)
{
    std::string o;
    auto counters = [&](const char* key, const std::map<std::string, std::uint64_t>& m) {
        append_json_string(o, key);
        o += ":{";
        bool first = true;
        for (auto& [k, v] : m) {
            if (!first) o += ',';
            first = false;
            append_json_string(o, k);
            o += ':';
            append_int(o, v);
        }
        o += '}';
    };
    o += '{';
    o += "\"requests_total\":";
    append_int(o, r.requests_total);
    o += ",\"rate_limited\":";
    append_int(o, r.rate_limited);
    o += ",\"unauthorized\":";
    append_int(o, r.unauthorized);
    o += ',';
    counters("routed", r.routed);
    o += ',';
    counters("operations", r.operations);
    o += ',';
    counters("faults", r.faults);
    o += ",\"conversations\":[";
    for (std::size_t i = 0; i < r.conversations.size(); ++i) {
        auto& c = r.conversations[i];
        if (i) o += ',';
        o += "{\"app_id\":";
        append_json_string(o, c.app_id);
        o += ",\"user_id\":";
        append_json_string(o, c.user_id);
        o += ",\"conversation_id\":";
        append_json_string(o, c.conversation_id);
        o += ",\"unread_count\":";
        append_int(o, c.unread_count);
        o += ",\"message_ids\":[";
        for (std::size_t k = 0; k < c.messages.size(); ++k) {
            if (k) o += ',';
            append_json_string(o, c.messages[k].id);
        }
        o += "],\"texts\":[";
        for (std::size_t k = 0; k < c.messages.size(); ++k) {
            if (k) o += ',';
            if (c.messages[k].text) append_json_string(o, *c.messages[k].text);
            else o += "null";
        }
        o += "],\"created_ids\":[";
        for (std::size_t k = 0; k < c.created_ids.size(); ++k) {
            if (k) o += ',';
            append_json_string(o, c.created_ids[k]);
        }
        o += "]}";
    }
    o += "],\"requests\":[";
    for (std::size_t i = 0; i < r.requests.size(); ++i) {
        auto& q = r.requests[i];
        if (i) o += ',';
        o += "{\"arrival_ns\":";
        append_int(o, std::chrono::duration_cast<std::chrono::nanoseconds>(q.arrival.time_since_epoch()).count());
        o += ",\"method\":";
        append_json_string(o, q.method);
        o += ",\"route\":";
        append_json_string(o, q.route);
        o += ",\"app_id\":";
        append_json_string(o, q.app_id);
        o += ",\"user_id\":";
        append_json_string(o, q.user_id);
        o += ",\"status\":";
        append_int(o, q.status);
        o += ",\"fault\":";
        if (q.faulted) append_json_string(o, to_string(q.fault));
        else o += "null";
        o += ",\"applied\":";
        o += q.applied ? "true" : "false";
        o += '}';
    }
    o += "]}";
    return o;
}

} // namespace smooch::mock

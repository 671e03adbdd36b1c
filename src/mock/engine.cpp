// smooch-mock's sans-I/O core: routing, auth, rate limit, faults, conversation state and the record.
// No Asio here: this TU stays cheap to compile. docs/mock.md documents every rule implemented below.

#include <smooch/mock/engine.hpp>

#include "detail/crypto.hpp"
#include "detail/http_status.hpp"
#include "detail/precise_json.hpp"

#include <boost/container/small_vector.hpp>
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <mutex>
#include <random>
#include <stdexcept>
#include <set>
#include <tuple>
#include <unordered_set>

namespace smooch::mock {

namespace json = boost::json;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------------------
// Small helpers

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// Percent-decodes one path segment or query component; nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

/// Percent-encodes everything but RFC 3986 unreserved characters (for next/previous URLs).
void percent_encode(std::string_view s, std::string& out)
{
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' || u == '.' ||
            u == '_' || u == '~') {
            out += c;
        } else {
            constexpr char upper[] = "0123456789ABCDEF";
            out += '%';
            out += upper[u >> 4];
            out += upper[u & 15];
        }
    }
}

/// Length of the valid UTF-8 sequence starting at s[i], 0 if invalid.
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept
{
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((b(i + k) & 0xC0) != 0x80) return 0;
    if (n == 2 && c < 0xC2) return 0;                          // overlong
    if (n == 3 && c == 0xE0 && b(i + 1) < 0xA0) return 0;      // overlong
    if (n == 3 && c == 0xED && b(i + 1) >= 0xA0) return 0;     // surrogates
    if (n == 4 && (c > 0xF4 || (c == 0xF0 && b(i + 1) < 0x90) || (c == 0xF4 && b(i + 1) >= 0x90))) return 0;
    return n;
}

/// Appends s as a JSON string. Invalid UTF-8 bytes become \u00XX (lossy, but the output stays valid JSON:
/// ids may hold any byte).
void append_json_string(std::string& out, std::string_view s)
{
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        auto u = static_cast<unsigned char>(s[i]);
        if (u >= 0x80) {
            std::size_t n = utf8_sequence(s, i);
            if (n) {
                out.append(s.substr(i, n));
                i += n;
                continue;
            }
        }
        if (u == '"' || u == '\\') {
            out += '\\';
            out += s[i];
        } else if (u < 0x20 || u >= 0x80) {
            switch (u) {
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                out += "\\u00";
                out += hex_digits[u >> 4];
                out += hex_digits[u & 15];
            }
        } else {
            out += s[i];
        }
        ++i;
    }
    out += '"';
}

template <class Int>
void append_int(std::string& out, Int v)
{
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

/// `received` as seconds with exactly three fraction digits (never exponent notation).
void append_timestamp(std::string& out, std::int64_t ms)
{
    append_int(out, ms / 1000);
    auto frac = static_cast<int>(ms % 1000);
    out += '.';
    out += static_cast<char>('0' + frac / 100);
    out += static_cast<char>('0' + frac / 10 % 10);
    out += static_cast<char>('0' + frac % 10);
}

/// A `before`/`after` cursor: `ms` = floor(value in ms); `extra` = it had non-zero digits beyond ms.
struct cursor {
    std::int64_t ms = 0;
    bool extra = false;
};

std::optional<cursor> parse_cursor(std::string_view s)
{
    auto dot = s.find('.');
    std::string_view ip = s.substr(0, dot), fp = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
    if (ip.empty() || ip.size() > 12 || (dot != std::string_view::npos && fp.empty())) return std::nullopt;
    cursor c;
    for (char ch : ip) {
        if (ch < '0' || ch > '9') return std::nullopt;
        c.ms = c.ms * 10 + (ch - '0');
    }
    c.ms *= 1000;
    std::int64_t scale = 100;
    for (std::size_t i = 0; i < fp.size(); ++i) {
        char ch = fp[i];
        if (ch < '0' || ch > '9') return std::nullopt;
        if (i < 3) {
            c.ms += (ch - '0') * scale;
            scale /= 10;
        } else if (ch != '0') {
            c.extra = true;
        }
    }
    return c;
}

const char* status_code_name(unsigned status)
{
    switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 402: return "payment_required";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "request_entity_too_large";
    case 429: return "too_many_requests";
    case 431: return "request_header_fields_too_large";
    case 500: return "internal_error";
    case 502: return "bad_gateway";
    case 503: return "service_unavailable";
    case 504: return "gateway_timeout";
    default: return "injected_fault";
    }
}

enum class op { post_message, get_messages, delete_message, delete_messages, reset_unread_count, activity, unknown };

constexpr std::array<const char*, 7> op_names = {"post_message",       "get_messages",          "delete_message",
                                                 "delete_messages",    "reset_unread_count",   "conversation_activity",
                                                 "unknown"};
const char* name(op o) { return op_names[static_cast<std::size_t>(o)]; }

struct route {
    op operation = op::unknown;
    std::string app, user, message;
    bool method_mismatch = false;  // the path is an API route, the method is not
    const char* allow = "";
};

enum class scope { app, account, app_user };

struct principal {
    scope sc = scope::account;
    std::string user_id;  // appUser only
};

struct bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point last;
};

struct conversation_state {
    conversation_record rec;
    std::string app_user_id;  // the appUser `_id` (authorId of appUser messages)
    std::string app_maker_id; // authorId of appMaker messages (computed once: HMAC is not free)
    std::int64_t last_ms = 0; // newest `received` ever given here (survives deletes)
};

struct key_less {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const
    {
        return std::tuple<std::string_view, std::string_view>(a.first, a.second) <
               std::tuple<std::string_view, std::string_view>(b.first, b.second);
    }
};

using conv_key = std::pair<std::string, std::string>;
using conv_view = std::pair<std::string_view, std::string_view>;

struct active_rule {
    fault_rule rule;
    std::uint64_t seen = 0;   // matching requests so far (for skip)
    std::uint64_t fired = 0;  // times it answered a request
};

} // namespace

const char* to_string(fault_action a) noexcept
{
    switch (a) {
    case fault_action::none: return "none";
    case fault_action::status: return "status";
    case fault_action::reset: return "reset";
    case fault_action::close: return "close";
    case fault_action::truncate: return "truncate";
    case fault_action::malformed: return "malformed";
    case fault_action::stall: return "stall";
    }
    return "none";
}


// ---------------------------------------------------------------------------------------------------------
// Fault grammar

namespace {

/// Longest timeout or fault delay, ms: a day. Deadlines are steady_clock::now() + d; a bound keeps that
/// addition far from overflowing.
constexpr std::int64_t max_ms = 86'400'000;

/// Fault statuses must be able to carry the body the mock sends with them: 1xx, 204 and 304 cannot (and a
/// 1xx does not even end the exchange).
bool fault_status_ok(std::uint64_t s) { return s >= 200 && s <= 599 && s != 204 && s != 304; }

/// Throws std::invalid_argument unless `t` is 1 ms .. a day.
void check_timeout(std::chrono::milliseconds t, const std::string& what)
{
    if (t.count() <= 0 || t.count() > max_ms)
        throw std::invalid_argument(what + " must be 1..86400000 ms, got " + std::to_string(t.count()));
}

/// Throws std::invalid_argument unless the limit is usable: rate > 0 and burst >= 1, both finite.
void check_rate(const std::optional<rate_limit>& limit, const std::string& what)
{
    if (limit && (!(limit->requests_per_second > 0) || !(limit->burst >= 1) ||
                  !std::isfinite(limit->requests_per_second) || !std::isfinite(limit->burst)))
        throw std::invalid_argument(what + ": requests_per_second must be > 0 and burst >= 1, both finite");
}

/// Throws std::invalid_argument if a rule built in code could not be sent (the parser checks the same).
void check_rule(const fault_rule& f, const char* what)
{
    if (!(f.probability > 0 && f.probability <= 1))
        throw std::invalid_argument(std::string(what) + ": probability must be in (0, 1]");
    if (f.status != 0 && !fault_status_ok(f.status))
        throw std::invalid_argument(std::string(what) + ": status must be 200..599 except 204 and 304, got " +
                                    std::to_string(f.status));
    if (f.delay.count() < 0 || f.delay.count() > max_ms)
        throw std::invalid_argument(std::string(what) + ": delay must be 0..86400000 ms, got " +
                                    std::to_string(f.delay.count()));
}

std::uint64_t parse_u64(std::string_view v, std::string_view key)
{
    std::uint64_t n = 0;
    auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || r.ec != std::errc{} || r.ptr != v.data() + v.size())
        throw std::invalid_argument("fault: " + std::string(key) + " needs a non-negative integer, got '" +
                                    std::string(v) + "'");
    return n;
}

} // namespace

fault_rule parse_fault(std::string_view spec)
{
    fault_rule r;
    bool have_action = false;
    auto set_action = [&](fault_action a, std::string_view item) {
        if (have_action && r.action != a)
            throw std::invalid_argument("fault: more than one action at '" + std::string(item) + "'");
        r.action = a;
        have_action = true;
    };
    std::size_t i = 0;
    while (i < spec.size()) {
        // One item: key[=value], value possibly "quoted".
        std::size_t start = i;
        while (i < spec.size() && spec[i] != ',' && spec[i] != '=') ++i;
        std::string_view key = spec.substr(start, i - start);
        std::string value;
        bool has_value = false;
        if (i < spec.size() && spec[i] == '=') {
            has_value = true;
            ++i;
            if (i < spec.size() && spec[i] == '"') {
                auto end = spec.find('"', i + 1);
                if (end == std::string_view::npos)
                    throw std::invalid_argument("fault: unterminated quote in '" + std::string(spec) + "'");
                value = std::string(spec.substr(i + 1, end - i - 1));
                i = end + 1;
                if (i < spec.size() && spec[i] != ',')
                    throw std::invalid_argument("fault: expected ',' after quoted value in '" + std::string(spec) + "'");
            } else {
                std::size_t vs = i;
                while (i < spec.size() && spec[i] != ',') ++i;
                value = std::string(spec.substr(vs, i - vs));
            }
        }
        if (i < spec.size()) ++i;  // the comma
        while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
        while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
        if (key.empty()) continue;
        std::string item(key);
        auto need_value = [&] {
            if (!has_value) throw std::invalid_argument("fault: '" + item + "' needs a value");
        };
        auto flag = [&] {
            if (has_value) throw std::invalid_argument("fault: '" + item + "' takes no value");
        };
        if (key == "status") {
            need_value();
            auto s = parse_u64(value, key);
            if (!fault_status_ok(s))
                throw std::invalid_argument("fault: status must be 200..599 except 204 and 304 (the response "
                                            "carries a body), got " + value);
            r.status = static_cast<unsigned>(s);
            // status=CODE with truncate/malformed/stall sets their status line instead of being the action.
            if (!have_action) {
                r.action = fault_action::status;
                have_action = true;
            }
        } else if (key == "reset" || key == "close" || key == "truncate" || key == "malformed" || key == "stall") {
            flag();
            fault_action a = key == "reset" ? fault_action::reset
                           : key == "close" ? fault_action::close
                           : key == "truncate" ? fault_action::truncate
                           : key == "malformed" ? fault_action::malformed
                                                : fault_action::stall;
            if (have_action && r.action == fault_action::status) r.action = a;  // status was only the line
            else set_action(a, key);
            have_action = true;
        } else if (key == "delay") {
            need_value();
            auto d = parse_u64(value, key);
            if (d > static_cast<std::uint64_t>(max_ms))
                throw std::invalid_argument("fault: delay must be at most 86400000 ms (a day), got " + value);
            r.delay = std::chrono::milliseconds(static_cast<std::int64_t>(d));
        } else if (key == "retry_after") {
            need_value();
            r.retry_after = value;
        } else if (key == "count") {
            need_value();
            r.count = parse_u64(value, key);
        } else if (key == "skip") {
            need_value();
            r.skip = parse_u64(value, key);
        } else if (key == "probability") {
            need_value();
            double p = 0;
            auto res = std::from_chars(value.data(), value.data() + value.size(), p);
            if (value.empty() || res.ec != std::errc{} || res.ptr != value.data() + value.size() || !(p > 0.0) ||
                p > 1.0)
                throw std::invalid_argument("fault: probability must be in (0, 1], got '" + value + "'");
            r.probability = p;
        } else if (key == "route") {
            need_value();
            if (std::find_if(op_names.begin(), op_names.end(), [&](const char* n) { return value == n; }) ==
                op_names.end())
                throw std::invalid_argument("fault: unknown route '" + value + "'");
            r.route = value;
        } else if (key == "method") {
            need_value();
            r.method = value;
        } else if (key == "app") {
            need_value();
            r.app_id = value;
        } else if (key == "user") {
            need_value();
            r.user_id = value;
        } else if (key == "apply") {
            if (has_value && value != "1" && value != "true" && value != "0" && value != "false")
                throw std::invalid_argument("fault: apply takes no value or 0/1/true/false");
            r.apply_before_fault = !has_value || value == "1" || value == "true";
        } else {
            throw std::invalid_argument("fault: unknown item '" + item + "'");
        }
    }
    if (r.action == fault_action::none && r.delay == 0ms)
        throw std::invalid_argument("fault: '" + std::string(spec) + "' has no action and no delay");
    if (r.retry_after && r.action != fault_action::status)
        throw std::invalid_argument("fault: retry_after needs status=CODE");
    return r;
}

// ---------------------------------------------------------------------------------------------------------
// Record helpers

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

// ---------------------------------------------------------------------------------------------------------
// The engine

struct detail::engine_state {
    mutable std::mutex mu;
    server_params params;  // keys, limits (faults/rate are moved into the fields below)
    std::string base_url = "http://127.0.0.1";
    std::vector<active_rule> rules;
    std::optional<rate_limit> limit;
    std::map<std::string, bucket, std::less<>> buckets;
    std::map<conv_key, conversation_state, key_less> conversations;
    record rec;  // counters and requests; conversations are filled in at snapshot time
    std::mt19937_64 rng;
    std::uint64_t id_counter = 0;
    std::uint32_t id_random = 0;
    std::atomic<std::size_t> close_after{0};
    std::atomic<std::int64_t> idle_ms{60'000};

    std::string new_id()
    {
        // ObjectId-like: 8 hex of unix seconds, 6 hex fixed per instance (from the seed), 10 hex of a counter.
        // Unique within a server; deterministic apart from the clock.
        auto secs = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                .count());
        std::uint64_t c = ++id_counter;
        std::string id(24, '0');
        auto put = [&](std::size_t pos, std::uint64_t v, std::size_t digits) {
            for (std::size_t k = 0; k < digits; ++k) id[pos + digits - 1 - k] = hex_digits[(v >> (4 * k)) & 15];
        };
        put(0, secs & 0xFFFFFFFFu, 8);
        put(8, id_random & 0xFFFFFFu, 6);
        put(14, c & 0xFFFFFFFFFFull, 10);
        return id;
    }
};

engine::engine(const server_params& p) : s_(std::make_unique<detail::engine_state>())
{
    if (p.body_limit == 0) throw std::invalid_argument("server_params.body_limit must be > 0");
    if (p.header_limit < 256) throw std::invalid_argument("server_params.header_limit must be >= 256");
    if (p.max_connections == 0) throw std::invalid_argument("server_params.max_connections must be > 0");
    for (auto& k : p.keys)
        if (k.key_id.empty() || k.secret.empty())
            throw std::invalid_argument("server_params.keys: key_id and secret must not be empty");
    check_rate(p.rate, "server_params.rate");
    for (auto& f : p.faults) check_rule(f, "server_params.faults");
    check_timeout(p.idle_timeout, "server_params.idle_timeout");
    check_timeout(p.header_timeout, "server_params.header_timeout");
    check_timeout(p.body_timeout, "server_params.body_timeout");
    check_timeout(p.write_timeout, "server_params.write_timeout");
    check_timeout(p.handshake_timeout, "server_params.handshake_timeout");
    s_->params = p;
    s_->limit = p.rate;
    for (auto& f : p.faults) s_->rules.push_back({f, 0, 0});
    s_->params.faults.clear();
    s_->rng.seed(p.seed);
    s_->id_random = static_cast<std::uint32_t>(s_->rng());
    s_->close_after = p.close_after_requests;
    s_->idle_ms = p.idle_timeout.count();
}

engine::~engine() = default;

void engine::set_base_url(std::string url)
{
    std::lock_guard lock(s_->mu);
    s_->base_url = std::move(url);
}

bool engine::admin_enabled() const noexcept { return s_->params.admin; }
std::size_t engine::close_after_requests() const noexcept { return s_->close_after.load(std::memory_order_relaxed); }
void engine::set_close_after_requests(std::size_t n) noexcept { s_->close_after = n; }
std::chrono::milliseconds engine::idle_timeout() const noexcept
{
    return std::chrono::milliseconds(s_->idle_ms.load(std::memory_order_relaxed));
}
void engine::set_idle_timeout(std::chrono::milliseconds t)
{
    check_timeout(t, "idle_timeout");
    s_->idle_ms = t.count();
}

void engine::error_response(unsigned status, std::string_view code, std::string_view description,
                            http_response& out)
{
    out.status = status;
    out.body.clear();
    out.body += "{\"error\":{\"code\":";
    append_json_string(out.body, code);
    out.body += ",\"description\":";
    append_json_string(out.body, description);
    out.body += "}}";
}

void engine::add_fault(fault_rule rule)
{
    check_rule(rule, "fault_rule");
    std::lock_guard lock(s_->mu);
    s_->rules.push_back({std::move(rule), 0, 0});
}

void engine::clear_faults()
{
    std::lock_guard lock(s_->mu);
    s_->rules.clear();
}

void engine::set_rate_limit(std::optional<rate_limit> limit)
{
    check_rate(limit, "rate_limit");
    std::lock_guard lock(s_->mu);
    s_->limit = limit;
    s_->buckets.clear();
}

void engine::reset()
{
    std::lock_guard lock(s_->mu);
    s_->conversations.clear();
    s_->buckets.clear();
    s_->rec = record{};
}

record engine::snapshot() const
{
    std::lock_guard lock(s_->mu);
    record r = s_->rec;
    r.conversations.reserve(s_->conversations.size());
    for (auto& [k, c] : s_->conversations) r.conversations.push_back(c.rec);
    return r;
}

// ---------------------------------------------------------------------------------------------------------
// Request handling

namespace {

struct context {
    detail::engine_state* s;
    const http_request& req;
    http_response& out;
    route rt;
    std::string_view query;
};

void error(http_response& out, unsigned status, std::string_view code, std::string_view description)
{
    engine::error_response(status, code, description, out);
}

/// Splits the raw path on '/', then decodes each segment, so an encoded '/' stays inside its segment.
/// Returns false on a bad percent escape.
bool parse_route(std::string_view method, std::string_view path, route& rt)
{
    std::array<std::string_view, 9> seg{};
    std::size_t n = 0;
    if (path.empty() || path.front() != '/') return true;  // unknown
    path.remove_prefix(1);
    while (true) {
        auto slash = path.find('/');
        if (n == seg.size()) return true;  // too many segments: unknown
        seg[n++] = path.substr(0, slash);
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    // v1.1 apps {app} appusers {user} messages [{id}] | conversation (activity|read)
    if (n < 6 || n > 7 || seg[0] != "v1.1" || seg[1] != "apps" || seg[3] != "appusers") return true;
    std::string_view last = seg[5];
    op o = op::unknown;
    const char* allow = "";
    if (n == 6 && last == "messages") {
        o = method == "GET" ? op::get_messages : method == "POST" ? op::post_message
          : method == "DELETE" ? op::delete_messages : op::unknown;
        allow = "GET, POST, DELETE";
    } else if (n == 7 && last == "messages") {
        o = method == "DELETE" ? op::delete_message : op::unknown;
        allow = "DELETE";
    } else if (n == 7 && last == "conversation" && seg[6] == "activity") {
        o = method == "POST" ? op::activity : op::unknown;
        allow = "POST";
    } else if (n == 7 && last == "conversation" && seg[6] == "read") {
        o = method == "POST" ? op::reset_unread_count : op::unknown;
        allow = "POST";
    } else {
        return true;
    }
    auto app = percent_decode(seg[2]);
    auto user = percent_decode(seg[4]);
    std::optional<std::string> msg;
    if (n == 7 && last == "messages") msg = percent_decode(seg[6]);
    if (!app || !user || (n == 7 && last == "messages" && !msg)) return false;
    if (app->empty() || user->empty() || (msg && msg->empty())) return true;  // empty segment: not a route
    rt.app = std::move(*app);
    rt.user = std::move(*user);
    if (msg) rt.message = std::move(*msg);
    rt.operation = o;
    rt.method_mismatch = o == op::unknown;
    rt.allow = allow;
    return true;
}

/// Finds `name` in a query string; nullopt if absent. Values are percent-decoded; "" if undecodable.
std::optional<std::string> query_param(std::string_view q, std::string_view name)
{
    while (!q.empty()) {
        auto amp = q.find('&');
        auto item = q.substr(0, amp);
        auto eq = item.find('=');
        if (item.substr(0, eq) == name) {
            auto v = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
            return percent_decode(v).value_or(std::string{});
        }
        if (amp == std::string_view::npos) break;
        q.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

bool iequals_prefix(std::string_view s, std::string_view prefix)
{
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
            return false;
    return true;
}

const api_key* find_key(const std::vector<api_key>& keys, std::string_view id)
{
    for (auto& k : keys)
        if (k.key_id == id) return &k;
    return nullptr;
}

/// Authenticates and authorizes `ctx.req` for its route. On failure fills the 401/403 response.
std::optional<principal> authenticate(context& ctx)
{
    auto& keys = ctx.s->params.keys;
    if (keys.empty()) return principal{};  // auth off: every request acts with account scope
    std::string_view h = ctx.req.authorization;
    while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
    if (h.empty()) {
        error(ctx.out, 401, "unauthorized", "Authorization is required");
        return std::nullopt;
    }
    const api_key* key = nullptr;
    principal who;
    if (iequals_prefix(h, "Basic ")) {
        auto raw = smooch::detail::base64_decode(h.substr(6));
        auto colon = raw ? raw->find(':') : std::string::npos;
        if (raw && colon != std::string::npos) key = find_key(keys, std::string_view(*raw).substr(0, colon));
        if (!key || !smooch::detail::constant_time_equal(key->secret, std::string_view(*raw).substr(colon + 1))) {
            error(ctx.out, 401, "invalid_auth", "Invalid basic auth credentials");
            return std::nullopt;
        }
        who.sc = key->app_id ? scope::app : scope::account;
    } else if (iequals_prefix(h, "Bearer ")) {
        std::string_view tok = h.substr(7);
        auto d1 = tok.find('.');
        auto d2 = d1 == std::string_view::npos ? d1 : tok.find('.', d1 + 1);
        if (d2 == std::string_view::npos || tok.find('.', d2 + 1) != std::string_view::npos) {
            error(ctx.out, 401, "invalid_auth", "Invalid JWT. Expected three dot-separated parts");
            return std::nullopt;
        }
        auto header_raw = smooch::detail::base64url_decode(tok.substr(0, d1));
        auto body_raw = smooch::detail::base64url_decode(tok.substr(d1 + 1, d2 - d1 - 1));
        boost::system::error_code ec1, ec2;
        json::value header, body;
        if (header_raw) header = json::parse(*header_raw, ec1);
        if (body_raw) body = json::parse(*body_raw, ec2);
        if (!header_raw || !body_raw || ec1 || ec2 || !header.is_object() || !body.is_object()) {
            error(ctx.out, 401, "invalid_auth", "Invalid JWT. Header and body must be base64url JSON objects");
            return std::nullopt;
        }
        auto& ho = header.get_object();
        auto& bo = body.get_object();
        auto* alg = ho.if_contains("alg");
        if (!alg || !alg->is_string() || alg->get_string() != "HS256") {
            error(ctx.out, 401, "invalid_auth", "Invalid JWT header. Unsupported algorithm (alg must be HS256)");
            return std::nullopt;
        }
        auto* kid = ho.if_contains("kid");
        if (!kid || !kid->is_string()) {
            error(ctx.out, 401, "invalid_auth", "Invalid JWT header. Missing key id (kid)");
            return std::nullopt;
        }
        key = find_key(keys, kid->get_string());
        if (!key) {
            error(ctx.out, 401, "invalid_auth", "Invalid JWT header. Unknown key id (kid)");
            return std::nullopt;
        }
        auto mac = smooch::detail::hmac_sha256(key->secret, tok.substr(0, d2));
        auto expected = smooch::detail::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
        if (!smooch::detail::constant_time_equal(expected, tok.substr(d2 + 1))) {
            error(ctx.out, 401, "invalid_auth", "Invalid JWT signature");
            return std::nullopt;
        }
        if (auto* exp = bo.if_contains("exp")) {
            if (!exp->is_number()) {
                error(ctx.out, 401, "invalid_auth", "Invalid JWT body. exp must be a number");
                return std::nullopt;
            }
            auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
            if (exp->to_number<double>() <= now) {
                error(ctx.out, 401, "invalid_auth", "Invalid JWT body. Token expired (exp)");
                return std::nullopt;
            }
        }
        auto* sc = bo.if_contains("scope");
        std::string_view scs = sc && sc->is_string() ? std::string_view(sc->get_string()) : std::string_view{};
        if (scs == "app") {
            who.sc = scope::app;
        } else if (scs == "account") {
            if (key->app_id) {
                error(ctx.out, 401, "invalid_auth", "Invalid JWT body. Cannot use account scope with app secret key");
                return std::nullopt;
            }
            who.sc = scope::account;
        } else if (scs == "appUser") {
            auto* uid = bo.if_contains("userId");
            if (!uid || !uid->is_string()) {
                error(ctx.out, 401, "invalid_auth", "Invalid JWT body. appUser scope needs a string userId");
                return std::nullopt;
            }
            who.sc = scope::app_user;
            who.user_id = std::string(uid->get_string());
        } else {
            error(ctx.out, 401, "invalid_auth", "Invalid JWT body. Missing or unknown scope");
            return std::nullopt;
        }
    } else {
        error(ctx.out, 401, "invalid_auth", "Unsupported authorization scheme (use Basic or Bearer)");
        return std::nullopt;
    }
    if (key->app_id && *key->app_id != ctx.rt.app) {
        error(ctx.out, 403, "forbidden", "The key does not belong to this app");
        return std::nullopt;
    }
    if (who.sc == scope::app_user) {
        op o = ctx.rt.operation;
        if (o != op::get_messages && o != op::post_message && o != op::reset_unread_count) {
            error(ctx.out, 403, "forbidden", "appUser scope cannot call this operation");
            return std::nullopt;
        }
        if (who.user_id != ctx.rt.user) {
            error(ctx.out, 403, "forbidden", "appUser scope only grants access to its own userId");
            return std::nullopt;
        }
    }
    return who;
}

/// Token bucket per app; false (and a 429) when empty.
bool take_token(context& ctx)
{
    auto& s = *ctx.s;
    if (!s.limit) return true;
    auto now = ctx.req.arrival;
    auto it = s.buckets.find(ctx.rt.app);
    if (it == s.buckets.end()) it = s.buckets.emplace(ctx.rt.app, bucket{s.limit->burst, now}).first;
    auto& b = it->second;
    double elapsed = std::chrono::duration<double>(now - b.last).count();
    if (elapsed > 0) {
        b.tokens = std::min(s.limit->burst, b.tokens + elapsed * s.limit->requests_per_second);
        b.last = now;
    }
    if (b.tokens >= 1.0) {
        b.tokens -= 1.0;
        return true;
    }
    auto wait = std::ceil((1.0 - b.tokens) / s.limit->requests_per_second);
    auto secs = std::max<std::int64_t>(1, static_cast<std::int64_t>(wait));
    ctx.out.retry_after.clear();
    append_int(ctx.out.retry_after, secs);
    error(ctx.out, 429, "too_many_requests", "Rate limit exceeded for this app");
    ++s.rec.rate_limited;
    return false;
}

conversation_state* find_conversation(context& ctx)
{
    auto it = ctx.s->conversations.find(conv_view(ctx.rt.app, ctx.rt.user));
    return it == ctx.s->conversations.end() ? nullptr : &it->second;
}

void append_conversation(std::string& o, const conversation_state& c)
{
    o += "{\"_id\":\"";
    o += c.rec.conversation_id;
    o += "\",\"unreadCount\":";
    append_int(o, c.rec.unread_count);
    o += '}';
}

void conversation_not_found(context& ctx)
{
    error(ctx.out, 404, "conversation_not_found", "No conversation exists for this app user");
}

// --- Request bodies

/// Parses a request body that must be a JSON object into `out` (which keeps its storage). Returns the
/// description of the 400 to send, or empty. `out` holds the parsed object whenever the text was JSON, even
/// when a number in it is out of range (the role check of appUser tokens still needs it).
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

/// One member of the body's top-level object, as written.
struct raw_member {
    std::string key;              // decoded
    std::string_view key_token;   // the key with its quotes and escapes
    std::string_view value;       // the value's text
};

bool json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t skip_space(std::string_view s, std::size_t i)
{
    while (i < s.size() && json_space(s[i])) ++i;
    return i;
}

/// End (one past the closing quote) of the string token starting at s[i] == '"'.
std::size_t string_end(std::string_view s, std::size_t i)
{
    for (++i; i < s.size(); ++i) {
        if (s[i] == '\\') ++i;
        else if (s[i] == '"') return i + 1;
    }
    return std::string_view::npos;
}

/// End of the value starting at s[i]. Only for text the JSON parser accepted.
std::size_t value_end(std::string_view s, std::size_t i)
{
    if (s[i] == '"') return string_end(s, i);
    if (s[i] == '{' || s[i] == '[') {
        std::size_t depth = 0;
        while (i < s.size()) {
            char c = s[i];
            if (c == '"') {
                i = string_end(s, i);
                if (i == std::string_view::npos) return i;
                continue;
            }
            if (c == '{' || c == '[') ++depth;
            else if ((c == '}' || c == ']') && --depth == 0) return i + 1;
            ++i;
        }
        return std::string_view::npos;
    }
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && !json_space(s[i])) ++i;
    return i;
}

/// Splits the text of a JSON object (already accepted by the parser) into its top-level members, so that
/// stored messages repeat posted values byte for byte: numbers keep their exact digits (0.1 stays 0.1, not
/// 1E-1, and nothing is re-rounded), strings their escapes. False if the text is not as expected.
template <class Members>
bool split_members(std::string_view s, Members& out)
{
    std::size_t i = skip_space(s, 0);
    if (i >= s.size() || s[i] != '{') return false;
    i = skip_space(s, i + 1);
    if (i < s.size() && s[i] == '}') return true;
    while (i < s.size()) {
        if (s[i] != '"') return false;
        std::size_t key_end = string_end(s, i);
        if (key_end == std::string_view::npos) return false;
        raw_member m;
        m.key_token = s.substr(i, key_end - i);
        std::string_view inner = m.key_token.substr(1, m.key_token.size() - 2);
        if (inner.find('\\') == std::string_view::npos) {
            m.key.assign(inner);
        } else {
            boost::system::error_code ec;
            auto k = json::parse(m.key_token, ec);
            if (ec || !k.is_string()) return false;
            m.key.assign(k.get_string().data(), k.get_string().size());
        }
        i = skip_space(s, key_end);
        if (i >= s.size() || s[i] != ':') return false;
        i = skip_space(s, i + 1);
        if (i >= s.size()) return false;
        std::size_t end = value_end(s, i);
        if (end == std::string_view::npos || end == i) return false;
        m.value = s.substr(i, end - i);
        out.push_back(std::move(m));
        i = skip_space(s, end);
        if (i < s.size() && s[i] == '}') return true;
        if (i >= s.size() || s[i] != ',') return false;
        i = skip_space(s, i + 1);
    }
    return false;
}

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

// --- Validation of post_message (reference.md §2). Each check returns the 400's description naming the
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

// §2.6 Action: type and text required (a share action has no text); payload for postback/reply, uri for
// link/webview, fallback for webview, amount (integer cents) for buy. Unknown types are accepted.
std::string check_action(const json::value& v, std::string_view path)
{
    auto* a = v.if_object();
    if (!a) return wrong_type(path, v, want::object);
    if (auto e = check_types(*a, path,
                             {{"type", want::string}, {"text", want::string}, {"payload", want::string},
                              {"uri", want::string}, {"fallback", want::string}, {"currency", want::string},
                              {"iconUrl", want::string}, {"size", want::string}, {"metadata", want::object},
                              {"extraChannelOptions", want::object}, {"amount", want::integer},
                              {"default", want::boolean}, {"openOnReceive", want::boolean}});
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

// §2.7 MessageItem: title required; actions required, 1 to 3.
std::string check_items(const json::array& items)
{
    for (std::size_t i = 0; i < items.size(); ++i) {
        std::string path = at_index("items", i);
        auto* io = items[i].if_object();
        if (!io) return wrong_type(path, items[i], want::object);
        if (auto e = check_types(*io, path,
                                 {{"title", want::string}, {"description", want::string}, {"mediaUrl", want::string},
                                  {"altText", want::string}, {"size", want::string}, {"mediaType", want::string},
                                  {"actions", want::array}});
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

// §2.12 FieldPost: type, name and label required, names unique per form; options (at most 20 for a select
// field) each with a name (unique per field) and a label.
std::string check_fields(const json::array& fields)
{
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        std::string path = at_index("fields", i);
        auto* fo = fields[i].if_object();
        if (!fo) return wrong_type(path, fields[i], want::object);
        if (auto e = check_types(*fo, path,
                                 {{"type", want::string}, {"name", want::string}, {"label", want::string},
                                  {"placeholder", want::string}, {"minSize", want::integer},
                                  {"maxSize", want::integer}, {"options", want::array}});
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
            auto* oo = oa[k].if_object();
            if (!oo) return wrong_type(opath, oa[k], want::object);
            if (auto e = check_types(*oo, opath, {{"name", want::string}, {"label", want::string}}); !e.empty())
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

/// Checks the posted message (reference.md §2.5 and the models it nests); returns a description naming the
/// field, or empty. Where the reference is unsure (enum values, mediaType, channel-specific limits), accepts.
std::string validate_message(const json::object& o)
{
    if (auto e = check_types(o, "",
                             {{"role", want::string}, {"type", want::string}, {"name", want::string},
                              {"email", want::string}, {"avatarUrl", want::string}, {"payload", want::string},
                              {"text", want::string}, {"mediaUrl", want::string}, {"mediaType", want::string},
                              {"altText", want::string}, {"metadata", want::object}, {"displaySettings", want::object},
                              {"destination", want::object}, {"override", want::object},
                              {"coordinates", want::object}, {"location", want::object}, {"items", want::array},
                              {"actions", want::array}, {"fields", want::array}, {"blockChatInput", want::boolean}});
        !e.empty())
        return e;

    auto* role = o.if_contains("role");
    if (!role) return "role is required";
    if (role->get_string() != "appUser" && role->get_string() != "appMaker")
        return "role must be appUser or appMaker";
    auto* type = o.if_contains("type");
    if (!type) return "type is required";
    std::string_view t = type->get_string();
    static constexpr std::array<std::string_view, 8> types = {"text", "image", "file", "carousel", "list", "location",
                                                              "form", "formResponse"};
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
    if (coords) {  // §2.11: lat and long required numbers
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

    if (auto* ds = o.if_contains("displaySettings"))  // §2.8; any ratio string (open enum)
        if (auto e = check_types(ds->get_object(), "displaySettings", {{"imageAspectRatio", want::string}}); !e.empty())
            return e;
    if (auto* dest = o.if_contains("destination")) {
        // §2.9: SPEC requires both, DOCS17 "one of": at least one.
        auto& d = dest->get_object();
        if (auto e = check_types(d, "destination", {{"integrationId", want::string}, {"integrationType", want::string}});
            !e.empty())
            return e;
        if (!d.contains("integrationId") && !d.contains("integrationType"))
            return "destination needs integrationId or integrationType";
    }
    return {};
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

/// Appends every posted member but role, type and the generated keys, as posted (see split_members).
void append_posted_members(std::string& j, std::string_view text, const json::object& body)
{
    auto generated = [](std::string_view k) {
        return k == "role" || k == "type" || k == "_id" || k == "authorId" || k == "received";
    };
    boost::container::small_vector<raw_member, 12> members;
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
        for (std::size_t i = members.size(); i-- > 0;)
            superseded[i] = !seen.insert(members[i].key).second;
    }
    for (std::size_t i = 0; i < members.size(); ++i) {
        auto& m = members[i];
        if (generated(m.key) || (superseded.empty() ? repeated_later(i) : superseded[i])) continue;
        j += ',';
        j += m.key_token;
        j += ':';
        j += m.value;
    }
}

bool post_message(context& ctx, const json::object& body)
{
    if (auto problem = validate_message(body); !problem.empty()) {
        error(ctx.out, 400, "bad_request", problem);
        return false;
    }
    auto& s = *ctx.s;
    auto& c = create_conversation(ctx);
    std::string_view role = body.at("role").get_string();
    message_record m;
    m.id = s.new_id();
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
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
    append_posted_members(j, ctx.req.body, body);
    j += '}';

    if (role == "appMaker") ++c.rec.unread_count;
    c.rec.created_ids.push_back(m.id);
    c.rec.messages.push_back(std::move(m));

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

void append_page_url(context& ctx, std::string& o, const char* dir, std::int64_t ms)
{
    o += '"';
    o += ctx.s->base_url;
    o += "/v1.1/apps/";
    percent_encode(ctx.rt.app, o);
    o += "/appusers/";
    percent_encode(ctx.rt.user, o);
    o += "/messages?";
    o += dir;
    o += '=';
    append_timestamp(o, ms);
    o += '"';
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
                  std::string(before ? "before" : "after") + " must be a Unix timestamp in seconds, e.g. 1439220041.586");
            return false;
        }
    }
    auto* c = find_conversation(ctx);
    if (!c) {
        conversation_not_found(ctx);
        return false;
    }
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
        auto begin = static_cast<std::size_t>(
            std::lower_bound(msgs.begin(), msgs.end(), cur->ms + 1, by_ms) - msgs.begin());
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
        append_page_url(ctx, o.body, "before", last > first ? msgs[first].received_ms : msgs[first - 1].received_ms + 1);
    }
    o.body += '}';
    return true;
}

bool delete_message(context& ctx)
{
    auto* c = find_conversation(ctx);
    if (!c) {
        conversation_not_found(ctx);
        return false;
    }
    auto& msgs = c->rec.messages;
    auto it = std::find_if(msgs.begin(), msgs.end(), [&](const message_record& m) { return m.id == ctx.rt.message; });
    if (it == msgs.end()) {
        error(ctx.out, 404, "message_not_found", "No message with this id in the conversation");
        return false;
    }
    msgs.erase(it);
    ctx.out.status = 200;
    ctx.out.body = "{}";
    return true;
}

bool delete_messages(context& ctx)
{
    auto* c = find_conversation(ctx);
    if (!c) {
        conversation_not_found(ctx);
        return false;
    }
    c->rec.messages.clear();
    c->rec.unread_count = 0;
    ctx.out.status = 200;
    ctx.out.body = "{}";
    return true;
}

bool reset_unread(context& ctx)
{
    auto* c = find_conversation(ctx);
    if (!c) {
        conversation_not_found(ctx);
        return false;
    }
    c->rec.unread_count = 0;
    ctx.out.status = 200;
    ctx.out.body = "{}";
    return true;
}

bool activity(context& ctx, const json::object& body)
{
    auto check_string = [&](const char* f, bool required) -> const json::string* {
        auto* v = body.if_contains(f);
        if (!v) {
            if (required) error(ctx.out, 400, "bad_request", std::string(f) + " is required");
            return nullptr;
        }
        if (!v->is_string()) {
            error(ctx.out, 400, "bad_request", std::string(f) + " must be a string, got " + kind_name(v->kind()));
            return nullptr;
        }
        return &v->get_string();
    };
    auto* role = check_string("role", true);
    if (!role) return false;
    if (*role != "appMaker") {
        error(ctx.out, 400, "bad_request", "role must be appMaker");
        return false;
    }
    auto* type = check_string("type", true);
    if (!type) return false;
    if (*type != "typing:start" && *type != "typing:stop" && *type != "conversation:read") {
        error(ctx.out, 400, "bad_request", "type must be typing:start, typing:stop or conversation:read");
        return false;
    }
    for (auto f : {"name", "avatarUrl"})
        if (body.contains(f) && !check_string(f, false)) return false;
    auto* c = find_conversation(ctx);
    if (!c) {
        conversation_not_found(ctx);
        return false;
    }
    ctx.out.status = 200;
    ctx.out.body.clear();
    ctx.out.body += "{\"conversation\":";
    append_conversation(ctx.out.body, *c);
    ctx.out.body += '}';
    return true;
}

/// Runs the operation for real: auth (401/403), rate limit (429), validation (400), state change. True if it
/// succeeded.
bool process(context& ctx)
{
    auto who = authenticate(ctx);
    if (!who) {
        ++ctx.s->rec.unauthorized;
        return false;
    }
    // The body is parsed before the rate limit because an appUser token may only post role appUser: that 403
    // is an authorization decision and takes no token. Problems with the body are reported after the rate
    // limit, as validation. The tree lives in a stack arena (heap only beyond it): no allocation storm.
    const op o = ctx.rt.operation;
    alignas(std::max_align_t) unsigned char arena[8192];
    json::monotonic_resource mr(arena, sizeof arena);
    json::storage_ptr sp(&mr);
    json::value body(sp);
    std::string body_problem;
    if (o == op::post_message || o == op::activity) body_problem = parse_body(ctx.req.body, body);
    if (who->sc == scope::app_user && o == op::post_message && body.is_object()) {
        auto* role = body.get_object().if_contains("role");
        if (role && role->is_string() && role->get_string() != "appUser") {
            error(ctx.out, 403, "forbidden", "appUser scope can only post messages with role appUser");
            ++ctx.s->rec.unauthorized;
            return false;
        }
    }
    if (!take_token(ctx)) return false;
    if (!body_problem.empty()) {
        error(ctx.out, 400, "bad_request", body_problem);
        return false;
    }
    switch (o) {
    case op::post_message: return post_message(ctx, body.get_object());
    case op::get_messages: return get_messages(ctx);
    case op::delete_message: return delete_message(ctx);
    case op::delete_messages: return delete_messages(ctx);
    case op::reset_unread_count: return reset_unread(ctx);
    case op::activity: return activity(ctx, body.get_object());
    case op::unknown: break;
    }
    return false;
}

/// The first rule that matches and fires, or nullptr. Updates the rule's counters.
const fault_rule* pick_fault(detail::engine_state& s, const route& rt, std::string_view method, std::string_view route_name)
{
    for (auto& r : s.rules) {
        auto& f = r.rule;
        if (f.count && r.fired >= *f.count) continue;
        if (f.route && *f.route != route_name) continue;
        if (f.method && *f.method != method) continue;
        if (f.app_id && *f.app_id != rt.app) continue;
        if (f.user_id && *f.user_id != rt.user) continue;
        if (r.seen++ < f.skip) continue;
        if (f.probability < 1.0 && std::uniform_real_distribution<double>(0.0, 1.0)(s.rng) >= f.probability) continue;
        ++r.fired;
        return &f;
    }
    return nullptr;
}

void handle_admin(engine& e, detail::engine_state& s, const http_request& req, std::string_view path, http_response& out)
{
    auto ok = [&](std::string body) {
        out.status = 200;
        out.body = std::move(body);
    };
    if (path == "/_admin/record") {
        if (req.method != "GET") return error(out, 405, "method_not_allowed", "Use GET"), void(out.allow = "GET");
        return ok(to_json(e.snapshot()));
    }
    if (path == "/_admin/faults") {
        if (req.method == "DELETE") {
            e.clear_faults();
            return ok("{\"faults\":0}");
        }
        if (req.method != "POST")
            return error(out, 405, "method_not_allowed", "Use POST or DELETE"), void(out.allow = "POST, DELETE");
        std::vector<fault_rule> rules;
        std::string_view b = req.body;
        try {
            while (!b.empty()) {
                auto nl = b.find('\n');
                auto line = b.substr(0, nl);
                while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
                if (!line.empty()) rules.push_back(parse_fault(line));
                if (nl == std::string_view::npos) break;
                b.remove_prefix(nl + 1);
            }
        } catch (const std::exception& ex) {
            return error(out, 400, "bad_request", ex.what());
        }
        for (auto& r : rules) e.add_fault(std::move(r));
        std::lock_guard lock(s.mu);
        out.status = 200;
        out.body = "{\"faults\":";
        append_int(out.body, s.rules.size());
        out.body += '}';
        return;
    }
    if (path == "/_admin/reset") {
        if (req.method != "POST") return error(out, 405, "method_not_allowed", "Use POST"), void(out.allow = "POST");
        e.reset();
        return ok("{}");
    }
    if (path == "/_admin/rate-limit") {
        if (req.method != "POST") return error(out, 405, "method_not_allowed", "Use POST"), void(out.allow = "POST");
        std::string_view b = req.body;
        while (!b.empty() && (b.back() == '\n' || b.back() == '\r' || b.back() == ' ')) b.remove_suffix(1);
        if (b == "off" || b.empty()) {
            e.set_rate_limit(std::nullopt);
            return ok("{}");
        }
        auto comma = b.find(',');
        double rps = 0, burst = 0;
        auto r1 = std::from_chars(b.data(), b.data() + (comma == std::string_view::npos ? b.size() : comma), rps);
        burst = rps;
        bool good = r1.ec == std::errc{};
        if (comma != std::string_view::npos) {
            auto r2 = std::from_chars(b.data() + comma + 1, b.data() + b.size(), burst);
            good = good && r2.ec == std::errc{} && r2.ptr == b.data() + b.size();
        } else {
            good = good && r1.ptr == b.data() + b.size();
        }
        burst = std::max(burst, 1.0);
        if (!good || !(rps > 0) || !std::isfinite(rps) || !std::isfinite(burst))
            return error(out, 400, "bad_request", "Body must be 'off' or 'RPS[,BURST]'");
        e.set_rate_limit(rate_limit{rps, burst});
        return ok("{}");
    }
    if (path == "/_admin/connections") {
        if (req.method != "POST") return error(out, 405, "method_not_allowed", "Use POST"), void(out.allow = "POST");
        std::string_view b = req.body;
        while (!b.empty() && (b.back() == '\n' || b.back() == '\r' || b.back() == ' ')) b.remove_suffix(1);
        // All or nothing: every item is checked before any is applied.
        std::optional<std::size_t> close_after;
        std::optional<std::int64_t> idle;
        while (!b.empty()) {
            auto comma = b.find(',');
            auto item = b.substr(0, comma);
            auto eq = item.find('=');
            std::uint64_t v = 0;
            auto val = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
            auto r = std::from_chars(val.data(), val.data() + val.size(), v);
            if (eq == std::string_view::npos || r.ec != std::errc{} || r.ptr != val.data() + val.size())
                return error(out, 400, "bad_request", "Body must be close_after_requests=N,idle_timeout=MS");
            auto key = item.substr(0, eq);
            if (key == "close_after_requests") {
                close_after = static_cast<std::size_t>(v);
            } else if (key == "idle_timeout") {
                if (v == 0 || v > static_cast<std::uint64_t>(max_ms))
                    return error(out, 400, "bad_request", "idle_timeout must be 1..86400000 ms");
                idle = static_cast<std::int64_t>(v);
            } else {
                return error(out, 400, "bad_request", "Unknown setting " + std::string(key));
            }
            if (comma == std::string_view::npos) break;
            b.remove_prefix(comma + 1);
        }
        if (close_after) e.set_close_after_requests(*close_after);
        if (idle) e.set_idle_timeout(std::chrono::milliseconds(*idle));
        return ok("{}");
    }
    error(out, 404, "not_found", "Unknown admin endpoint");
}

} // namespace

void engine::handle(const http_request& req, http_response& out)
{
    out.status = 200;
    out.retry_after.clear();
    out.allow.clear();
    out.fault = fault_action::none;
    out.delay = 0ms;

    auto qpos = req.target.find('?');
    std::string_view path = req.target.substr(0, qpos);
    std::string_view query = qpos == std::string_view::npos ? std::string_view{} : req.target.substr(qpos + 1);
    if (auto hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);

    if (s_->params.admin && path.substr(0, 8) == "/_admin/") return handle_admin(*this, *s_, req, path, out);

    context ctx{s_.get(), req, out, {}, query};
    bool decodable = parse_route(req.method, path, ctx.rt);
    const char* route_name = name(ctx.rt.operation);

    std::lock_guard lock(s_->mu);
    auto& rec = s_->rec;
    ++rec.requests_total;
    ++rec.routed[route_name];
    request_record* entry = nullptr;
    if (rec.requests.size() < s_->params.max_recorded_requests) {
        entry = &rec.requests.emplace_back();
        entry->arrival = req.arrival;
        entry->method = std::string(req.method);
        entry->route = route_name;
        entry->app_id = ctx.rt.app;
        entry->user_id = ctx.rt.user;
    }

    const fault_rule* f = pick_fault(*s_, ctx.rt, req.method, route_name);
    bool applied = false;
    bool process_it = !f || f->action == fault_action::none || f->action == fault_action::close || f->apply_before_fault;
    if (process_it) {
        if (!decodable) {
            error(out, 400, "bad_request", "Invalid percent-encoding in the path");
        } else if (ctx.rt.operation == op::unknown) {
            if (ctx.rt.method_mismatch) {
                error(out, 405, "method_not_allowed", std::string(req.method) + " is not allowed on this path");
                out.allow = ctx.rt.allow;
            } else {
                error(out, 404, "not_found", "No such route");
            }
        } else {
            applied = process(ctx);
            if (applied) ++rec.operations[route_name];
        }
    }
    if (f) {
        out.fault = f->action;
        out.delay = f->delay;
        ++rec.faults[to_string(f->action)];
        unsigned success = ctx.rt.operation == op::post_message ? 201 : 200;
        switch (f->action) {
        case fault_action::none:
        case fault_action::close:
        case fault_action::reset: break;
        case fault_action::status: {
            unsigned st = f->status ? f->status : 503;
            error(out, st, status_code_name(st), "Injected fault");
            if (f->retry_after) out.retry_after = *f->retry_after;
            break;
        }
        case fault_action::truncate:
            if (!applied) {
                error(out, f->status ? f->status : success, "injected_fault",
                      "Injected fault: this body is cut short by the server");
            }
            break;
        case fault_action::malformed:
            out.status = applied ? out.status : (f->status ? f->status : success);
            out.body = R"({"message":{"_id":"0123456789abcdef01234567","text":"malformed)";
            out.body += "\x01 [}";
            break;
        case fault_action::stall:
            if (!applied) error(out, f->status ? f->status : success, "injected_fault", "Injected stall");
            break;
        }
    }
    if (entry) {
        entry->status = f && f->action == fault_action::reset ? 0 : out.status;
        entry->faulted = f != nullptr;
        entry->fault = f ? f->action : fault_action::none;
        entry->applied = applied;
    }
}

} // namespace smooch::mock

namespace smooch::mock {
std::string_view reason_phrase(unsigned status) noexcept { return smooch::detail::reason_phrase(status); }
} // namespace smooch::mock

// SPDX-License-Identifier: BSL-1.0
// Fault rules: the grammar (parse_fault), the checks of rules built in code, matching, and the answer a fault
// gives. docs/mock.md "Faults" documents each rule.

#include "mock/faults.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string>

namespace smooch::mock {

using namespace std::chrono_literals;

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

namespace {

/// Fault statuses must be able to carry the body the mock sends with them: 1xx, 204 and 304 cannot (and a
/// 1xx does not even end the exchange).
bool fault_status_ok(std::uint64_t s) { return s >= 200 && s <= 599 && s != 204 && s != 304; }

std::uint64_t parse_u64(std::string_view v, std::string_view key)
{
    std::uint64_t n = 0;
    auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || r.ec != std::errc{} || r.ptr != v.data() + v.size())
        throw std::invalid_argument("fault: " + std::string(key) + " needs a non-negative integer, got '" +
                                    std::string(v) + "'");
    return n;
}

/// The API's error code for an injected status.
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

}  // namespace

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
                    throw std::invalid_argument("fault: expected ',' after quoted value in '" + std::string(spec) +
                                                "'");
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
                                            "carries a body), got " +
                                            value);
            r.status = static_cast<unsigned>(s);
            // status=CODE with truncate/malformed/stall sets their status line instead of being the action.
            if (!have_action) {
                r.action = fault_action::status;
                have_action = true;
            }
        } else if (key == "reset" || key == "close" || key == "truncate" || key == "malformed" || key == "stall") {
            flag();
            fault_action a = key == "reset"       ? fault_action::reset
                             : key == "close"     ? fault_action::close
                             : key == "truncate"  ? fault_action::truncate
                             : key == "malformed" ? fault_action::malformed
                                                  : fault_action::stall;
            if (have_action && r.action == fault_action::status) r.action = a;  // status was only the line
            else set_action(a, key);
            have_action = true;
        } else if (key == "delay") {
            need_value();
            auto d = parse_u64(value, key);
            if (d > static_cast<std::uint64_t>(detail::max_ms))
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
            if (std::find_if(detail::op_names.begin(), detail::op_names.end(),
                             [&](const char* n) { return value == n; }) == detail::op_names.end())
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

}  // namespace smooch::mock

namespace smooch::mock::detail {

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

const fault_rule* pick_fault(engine_state& s, const route& rt, std::string_view method, std::string_view route_name)
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

void apply_fault(const fault_rule& f, bool applied, op operation, http_response& out)
{
    out.fault = f.action;
    out.delay = f.delay;
    // What truncate/malformed/stall pretend when the request was not processed: the route's success.
    unsigned success = operation == op::post_message ? 201 : 200;
    switch (f.action) {
    case fault_action::none:
    case fault_action::close:
    case fault_action::reset: break;
    case fault_action::status: {
        unsigned st = f.status ? f.status : 503;
        error(out, st, status_code_name(st), "Injected fault");
        if (f.retry_after) out.retry_after = *f.retry_after;
        break;
    }
    case fault_action::truncate:
        if (!applied) {
            error(out, f.status ? f.status : success, "injected_fault",
                  "Injected fault: this body is cut short by the server");
        }
        break;
    case fault_action::malformed:
        out.status = applied ? out.status : (f.status ? f.status : success);
        out.body = R"({"message":{"_id":"0123456789abcdef01234567","text":"malformed)";
        out.body += "\x01 [}";
        break;
    case fault_action::stall:
        if (!applied) error(out, f.status ? f.status : success, "injected_fault", "Injected stall");
        break;
    }
}

}  // namespace smooch::mock::detail

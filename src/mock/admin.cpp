// SPDX-License-Identifier: BSL-1.0
// /_admin/* (admin.hpp).

#include "mock/admin.hpp"

#include "mock/codec.hpp"

#include "detail/json_string.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <stdexcept>
#include <type_traits>

namespace smooch::mock::detail {

namespace {

namespace json = boost::json;

/// POST /_admin/webhook's body: {"target","secret","triggers":[...],"ca_pem","attempt_timeout_ms",...}. Throws
/// std::invalid_argument naming the key.
webhook_params webhook_from_json(std::string_view body)
{
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) throw std::invalid_argument("body must be a JSON object");
    webhook_params w;
    auto text = [](const json::value& x, std::string_view key) {
        if (!x.is_string()) throw std::invalid_argument(std::string(key) + ": expected a string");
        return std::string(x.get_string());
    };
    auto count = [](const json::value& x, std::string_view key) {
        std::uint64_t n = 0;
        if (x.is_int64() && x.get_int64() >= 0) n = static_cast<std::uint64_t>(x.get_int64());
        else if (x.is_uint64()) n = x.get_uint64();
        else throw std::invalid_argument(std::string(key) + ": expected a non-negative integer");
        return n;
    };
    auto ms = [&](const json::value& x, std::string_view key) {
        auto n = count(x, key);
        if (n > static_cast<std::uint64_t>(max_ms))
            throw std::invalid_argument(std::string(key) + ": at most 86400000");
        return std::chrono::milliseconds(static_cast<std::int64_t>(n));
    };
    auto probability = [](const json::value& x, std::string_view key) {
        if (!x.is_number()) throw std::invalid_argument(std::string(key) + ": expected a number");
        return x.to_number<double>();
    };
    for (auto& [k, x] : v.get_object()) {
        std::string_view key(k.data(), k.size());
        if (key == "target") w.target = text(x, key);
        else if (key == "secret") w.secret = text(x, key);
        else if (key == "ca_pem") w.ca_pem = text(x, key);
        else if (key == "triggers") {
            if (!x.is_array()) throw std::invalid_argument("triggers: expected an array of strings");
            w.triggers.clear();
            for (auto& t : x.get_array()) w.triggers.push_back(text(t, "triggers[]"));
        } else if (key == "attempt_timeout_ms") w.attempt_timeout = ms(x, key);
        else if (key == "retry_base_ms") w.retry_base = ms(x, key);
        else if (key == "max_retries")
            w.max_retries = static_cast<unsigned>(std::min<std::uint64_t>(count(x, key), 1000));
        else if (key == "duplicate_probability") w.duplicate_probability = probability(x, key);
        else if (key == "fail_probability") w.fail_probability = probability(x, key);
        else if (key == "fail_first") w.fail_first = count(x, key);
        else if (key == "max_in_flight") w.max_in_flight = static_cast<std::size_t>(count(x, key));
        else if (key == "max_queue") w.max_queue = static_cast<std::size_t>(count(x, key));
        else throw std::invalid_argument("unknown key '" + std::string(key) + "'");
    }
    check_webhook_params(w);
    return w;
}

/// GET /_admin/webhook: the settings without the secret.
std::string webhook_to_json(const webhook_params* w)
{
    if (!w) return "{\"webhook\":null}";
    std::string o = "{\"webhook\":{\"target\":";
    smooch::detail::append_json_string(o, w->target);
    o += ",\"triggers\":[";
    for (std::size_t i = 0; i < w->triggers.size(); ++i) {
        if (i) o += ',';
        smooch::detail::append_json_string(o, w->triggers[i]);
    }
    o += "],\"custom_ca\":";
    o += w->ca_pem.empty() ? "false" : "true";
    auto num = [&](const char* key, auto n) {
        o += ",\"";
        o += key;
        o += "\":";
        if constexpr (std::is_floating_point_v<decltype(n)>) {
            char buf[32];
            o.append(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);  // shortest form: 0.25, not 2.5E-1
        } else append_int(o, n);
    };
    num("attempt_timeout_ms", w->attempt_timeout.count());
    num("retry_base_ms", w->retry_base.count());
    num("max_retries", w->max_retries);
    num("duplicate_probability", w->duplicate_probability);
    num("fail_probability", w->fail_probability);
    num("fail_first", w->fail_first);
    num("max_in_flight", w->max_in_flight);
    num("max_queue", w->max_queue);
    o += "}}";
    return o;
}

}  // namespace

void handle_admin(engine& e, engine_state& s, const http_request& req, std::string_view path, http_response& out)
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
    if (path == "/_admin/webhook") {
        if (req.method == "GET") return ok(webhook_to_json(e.webhook().get()));
        if (req.method == "DELETE") {
            e.set_webhook(std::nullopt);
            return ok(webhook_to_json(nullptr));
        }
        if (req.method != "POST")
            return error(out, 405, "method_not_allowed", "Use GET, POST or DELETE"),
                   void(out.allow = "GET, POST, DELETE");
        try {
            e.set_webhook(webhook_from_json(req.body));
        } catch (const std::invalid_argument& ex) {
            return error(out, 400, "bad_request", ex.what());
        }
        return ok(webhook_to_json(e.webhook().get()));
    }
    error(out, 404, "not_found", "Unknown admin endpoint");
}

}  // namespace smooch::mock::detail

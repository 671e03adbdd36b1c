// /_admin/* (admin.hpp).

#include "mock/admin.hpp"

#include "mock/codec.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>

namespace smooch::mock::detail {

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
    error(out, 404, "not_found", "Unknown admin endpoint");
}

}  // namespace smooch::mock::detail

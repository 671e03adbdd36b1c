// SPDX-License-Identifier: BSL-1.0
// smooch-mock's sans-I/O core, the glue: construction and setters, and engine::handle(), which runs a request
// through the concerns in their documented order (engine_state.hpp lists the files). No Asio here.

#include <smooch/mock/engine.hpp>

#include "detail/http_status.hpp"
#include "detail/json_string.hpp"
#include "mock/admin.hpp"
#include "mock/codec.hpp"
#include "mock/engine_state.hpp"
#include "mock/faults.hpp"
#include "mock/operations.hpp"
#include "mock/routing.hpp"
#include "mock/validation.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <stdexcept>

namespace smooch::mock {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string detail::engine_state::new_id()
{
    // ObjectId-like: 8 hex of unix seconds, 6 hex fixed per instance (from the seed), 10 hex of a counter.
    // Unique within a server; deterministic apart from the clock.
    auto secs = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    std::uint64_t c = ++id_counter;
    std::string id(24, '0');
    auto put = [&](std::size_t pos, std::uint64_t v, std::size_t digits) {
        for (std::size_t k = 0; k < digits; ++k) id[pos + digits - 1 - k] = detail::hex_digits[(v >> (4 * k)) & 15];
    };
    put(0, secs & 0xFFFFFFFFu, 8);
    put(8, id_random & 0xFFFFFFu, 6);
    put(14, c & 0xFFFFFFFFFFull, 10);
    return id;
}

namespace {

/// Throws std::invalid_argument unless `t` is 1 ms .. a day.
void check_timeout(std::chrono::milliseconds t, const std::string& what)
{
    if (t.count() <= 0 || t.count() > detail::max_ms)
        throw std::invalid_argument(what + " must be 1..86400000 ms, got " + std::to_string(t.count()));
}

/// Throws std::invalid_argument unless the limit is usable: rate > 0 and burst >= 1, both finite.
void check_rate(const std::optional<rate_limit>& limit, const std::string& what)
{
    if (limit && (!(limit->requests_per_second > 0) || !(limit->burst >= 1) ||
                  !std::isfinite(limit->requests_per_second) || !std::isfinite(limit->burst)))
        throw std::invalid_argument(what + ": requests_per_second must be > 0 and burst >= 1, both finite");
}

}  // namespace

engine::engine(const server_params& p) : s_(std::make_unique<detail::engine_state>())
{
    if (p.body_limit == 0) throw std::invalid_argument("server_params.body_limit must be > 0");
    if (p.header_limit < 256) throw std::invalid_argument("server_params.header_limit must be >= 256");
    if (p.max_connections == 0) throw std::invalid_argument("server_params.max_connections must be > 0");
    for (auto& k : p.keys)
        if (k.key_id.empty() || k.secret.empty())
            throw std::invalid_argument("server_params.keys: key_id and secret must not be empty");
    check_rate(p.rate, "server_params.rate");
    for (auto& f : p.faults) detail::check_rule(f, "server_params.faults");
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
    if (p.webhook) {
        check_webhook_params(*p.webhook);
        s_->webhooks.params = std::make_shared<const webhook_params>(*p.webhook);
    }
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

void engine::error_response(unsigned status, std::string_view code, std::string_view description, http_response& out)
{
    out.status = status;
    out.body.clear();
    out.body += "{\"error\":{\"code\":";
    smooch::detail::append_json_string(out.body, code);
    out.body += ",\"description\":";
    smooch::detail::append_json_string(out.body, description);
    out.body += "}}";
}

void engine::add_fault(fault_rule rule)
{
    detail::check_rule(rule, "fault_rule");
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
    s_->webhooks.outbox.clear();
    s_->webhooks.queued = 0;
}

record engine::snapshot() const
{
    std::lock_guard lock(s_->mu);
    record r = s_->rec;
    r.conversations.reserve(s_->conversations.size());
    for (auto& [k, c] : s_->conversations) r.conversations.push_back(c.rec);
    return r;
}

namespace {

using detail::context;
using detail::error;
using detail::op;

/// Runs the operation for real: auth (401/403), rate limit (429), validation (400), state change. True if it
/// succeeded.
bool process(context& ctx)
{
    auto who = detail::authenticate(ctx);
    if (!who) {
        ++ctx.s->rec.unauthorized;
        return false;
    }
    if (ctx.rt.short_path && ctx.rt.app.empty()) {  // an account-scoped credential on /v1.1/appusers/...
        error(ctx.out, 400, "bad_request",
              "An account-scoped credential must name the app: use /v1.1/apps/{appId}/appusers/{userId}/...");
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
    if (o == op::post_message || o == op::activity) body_problem = detail::parse_body(ctx.req.body, body);
    if (who->sc == detail::scope::app_user && o == op::post_message && body.is_object()) {
        auto* role = body.get_object().if_contains("role");
        if (role && role->is_string() && role->get_string() != "appUser") {
            error(ctx.out, 403, "forbidden", "appUser scope can only post messages with role appUser");
            ++ctx.s->rec.unauthorized;
            return false;
        }
    }
    if (!detail::take_token(ctx)) return false;
    if (body_problem.empty() && o == op::post_message) body_problem = detail::validate_message(body.get_object());
    if (body_problem.empty() && o == op::activity) body_problem = detail::validate_activity(body.get_object());
    if (!body_problem.empty()) {
        error(ctx.out, 400, "bad_request", body_problem);
        return false;
    }
    switch (o) {
    case op::post_message: return detail::post_message(ctx, body.get_object());
    case op::get_messages: return detail::get_messages(ctx);
    case op::delete_message: return detail::delete_message(ctx);
    case op::delete_messages: return detail::delete_messages(ctx);
    case op::reset_unread_count: return detail::reset_unread(ctx);
    case op::activity: return detail::activity(ctx);
    case op::unknown: break;
    }
    return false;
}

}  // namespace

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

    if (s_->params.admin && path.substr(0, 8) == "/_admin/") return detail::handle_admin(*this, *s_, req, path, out);

    context ctx{s_.get(), req, out, {}, query};
    bool decodable = detail::parse_route(req.method, path, ctx.rt);
    const char* route_name = detail::op_name(ctx.rt.operation);

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

    // Faults come right after routing, before auth and the rate limit: they model what is in front of the API.
    const fault_rule* f = detail::pick_fault(*s_, ctx.rt, req.method, route_name);
    bool applied = false;
    bool process_it =
        !f || f->action == fault_action::none || f->action == fault_action::close || f->apply_before_fault;
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
            if (entry && ctx.rt.short_path) entry->app_id = ctx.rt.app;  // known once authenticated
        }
    }
    if (f) {
        ++rec.faults[to_string(f->action)];
        detail::apply_fault(*f, applied, ctx.rt.operation, out);
    }
    if (entry) {
        entry->status = f && f->action == fault_action::reset ? 0 : out.status;
        entry->faulted = f != nullptr;
        entry->fault = f ? f->action : fault_action::none;
        entry->applied = applied;
    }
}

std::string_view reason_phrase(unsigned status) noexcept { return smooch::detail::reason_phrase(status); }

}  // namespace smooch::mock

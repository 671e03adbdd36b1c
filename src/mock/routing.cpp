// SPDX-License-Identifier: BSL-1.0
// Routing, authentication and authorization, and the per-app rate limit (routing.hpp).

#include "mock/routing.hpp"

#include "detail/crypto.hpp"
#include "detail/percent.hpp"
#include "mock/codec.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace smooch::mock::detail {

namespace json = boost::json;
using smooch::detail::percent_decode;

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
    // v1.1 apps {app} appusers {user} REST, or the short form v1.1 appusers {user} REST (the app is the
    // credential's: docs/api-facts.md#short-paths), where REST is messages [{id}] | conversation (activity|read).
    std::size_t user_at = 0;
    if (n >= 4 && seg[0] == "v1.1" && seg[1] == "apps" && seg[3] == "appusers") user_at = 4;
    else if (n >= 2 && seg[0] == "v1.1" && seg[1] == "appusers") user_at = 2;
    const std::size_t rest = n - std::min(n, user_at + 1);  // segments after the user id: 1 or 2
    if (user_at == 0 || rest < 1 || rest > 2) return true;
    std::string_view last = seg[user_at + 1];
    op o = op::unknown;
    const char* allow = "";
    if (rest == 1 && last == "messages") {
        o = method == "GET"      ? op::get_messages
            : method == "POST"   ? op::post_message
            : method == "DELETE" ? op::delete_messages
                                 : op::unknown;
        allow = "GET, POST, DELETE";
    } else if (rest == 2 && last == "messages") {
        o = method == "DELETE" ? op::delete_message : op::unknown;
        allow = "DELETE";
    } else if (rest == 2 && last == "conversation" && seg[user_at + 2] == "activity") {
        o = method == "POST" ? op::activity : op::unknown;
        allow = "POST";
    } else if (rest == 2 && last == "conversation" && seg[user_at + 2] == "read") {
        o = method == "POST" ? op::reset_unread_count : op::unknown;
        allow = "POST";
    } else {
        return true;
    }
    const bool short_path = user_at == 2;
    auto app = short_path ? std::optional<std::string>(std::string()) : percent_decode(seg[2]);
    auto user = percent_decode(seg[user_at]);
    std::optional<std::string> msg;
    if (rest == 2 && last == "messages") msg = percent_decode(seg[user_at + 2]);
    if (!app || !user || (rest == 2 && last == "messages" && !msg)) return false;
    if ((!short_path && app->empty()) || user->empty() || (msg && msg->empty()))
        return true;  // empty segment: not a route
    rt.app = std::move(*app);
    rt.user = std::move(*user);
    if (msg) rt.message = std::move(*msg);
    rt.operation = o;
    rt.method_mismatch = o == op::unknown;
    rt.allow = allow;
    rt.short_path = short_path;
    return true;
}

namespace {

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

}  // namespace

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
        auto expected =
            smooch::detail::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
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
    // The short form names no app: it is the app of the credential's key. An account key names none, and
    // process() answers 400 (docs/api-facts.md#short-paths).
    if (ctx.rt.short_path && key->app_id) ctx.rt.app = *key->app_id;
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

bool take_token(context& ctx)
{
    auto& s = *ctx.s;
    if (!s.limit) return true;
    auto it = s.buckets.find(ctx.rt.app);
    if (it == s.buckets.end())
        it = s.buckets.try_emplace(ctx.rt.app, s.limit->requests_per_second, s.limit->burst).first;
    auto& bucket = it->second;
    if (bucket.try_take(ctx.req.arrival)) return true;
    // Smooch sends its 429s without Retry-After (docs/api-facts.md#rate-limits); on request, whole seconds until
    // a token is there, rounded up, at least 1.
    if (s.params.rate_limit_retry_after) {
        auto wait = std::ceil(bucket.time_until_token(ctx.req.arrival).count());
        auto secs = std::max<std::int64_t>(1, static_cast<std::int64_t>(wait));
        ctx.out.retry_after.clear();
        append_int(ctx.out.retry_after, secs);
    }
    error(ctx.out, 429, "too_many_requests", "Rate limit exceeded for this app");
    ++s.rec.rate_limited;
    return false;
}

}  // namespace smooch::mock::detail

// SPDX-License-Identifier: BSL-1.0
// The Authorization header: Basic, a ready-made bearer token, or a JWT signed (and re-signed) here.

#include "credentials/authorizer.hpp"

#include "detail/crypto.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace smooch::detail {

std::string hs256_signature(std::string_view signing_input, std::string_view secret)
{
    auto mac = hmac_sha256(secret, signing_input);
    return base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

std::string sign_jwt(const jwt_credentials& c, std::chrono::system_clock::time_point now)
{
    boost::json::object header{{"alg", "HS256"}, {"typ", "JWT"}, {"kid", c.key_id}};
    boost::json::object payload;
    static constexpr const char* scopes[] = {"app", "account", "appUser"};
    payload["scope"] = scopes[static_cast<int>(c.scope)];
    if (c.scope == jwt_scope::app_user) payload["userId"] = c.user_id;
    const auto iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    payload["iat"] = iat;
    if (c.lifetime) payload["exp"] = iat + c.lifetime->count();
    std::string input =
        base64url_encode(boost::json::serialize(header)) + '.' + base64url_encode(boost::json::serialize(payload));
    std::string sig = hs256_signature(input, c.secret);
    return input + '.' + sig;
}

authorizer::authorizer(credentials c) : creds_(std::move(c)) {}

void authorizer::check() const
{
    auto bad = [](const char* why) {
        diagnostics d;
        d.message = why;
        throw error(client_errc::invalid_credentials, d);
    };
    if (auto* b = std::get_if<basic_auth>(&creds_)) {
        if (b->key_id.empty() || b->secret.empty()) bad("basic_auth needs a key_id and a secret");
        if (b->key_id.find(':') != std::string::npos) bad("basic_auth key_id must not contain ':'");
    } else if (auto* t = std::get_if<bearer_token>(&creds_)) {
        if (t->token.empty()) bad("bearer_token is empty");
        for (char ch : t->token)
            if (static_cast<unsigned char>(ch) < 0x21 || static_cast<unsigned char>(ch) > 0x7e)
                bad("bearer_token contains a character not allowed in a header");
    } else if (auto* j = std::get_if<jwt_credentials>(&creds_)) {
        if (j->key_id.empty() || j->secret.empty()) bad("jwt_credentials needs a key_id and a secret");
        if (j->scope == jwt_scope::app_user && j->user_id.empty())
            bad("jwt_credentials: app_user scope needs a user_id");
        if (j->lifetime && j->lifetime->count() <= 0) bad("jwt_credentials: lifetime must be positive");
    }
}

std::string authorizer::header(std::chrono::system_clock::time_point now)
{
    if (auto* b = std::get_if<basic_auth>(&creds_)) {
        std::lock_guard lk(mu_);
        if (cached_.empty()) cached_ = "Basic " + base64_encode(b->key_id + ':' + b->secret);
        return cached_;
    }
    if (auto* t = std::get_if<bearer_token>(&creds_)) return "Bearer " + t->token;
    if (auto* j = std::get_if<jwt_credentials>(&creds_)) {
        std::lock_guard lk(mu_);
        if (cached_.empty() || (j->lifetime && now >= refresh_at_)) {
            cached_ = "Bearer " + sign_jwt(*j, now);
            // Re-sign when a tenth of the lifetime is left before `exp`, which counts from the whole second the
            // token was issued in (iat is floor(now)), not from the exact signing time.
            if (j->lifetime) {
                const auto iat = std::chrono::floor<std::chrono::seconds>(now);
                refresh_at_ =
                    iat + *j->lifetime - std::chrono::duration_cast<std::chrono::milliseconds>(*j->lifetime) / 10;
            }
        }
        return cached_;
    }
    return {};
}

}  // namespace smooch::detail

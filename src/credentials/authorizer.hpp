// SPDX-License-Identifier: BSL-1.0
#pragma once
// Credentials to an Authorization header value. Thread-safe.

#include <smooch/client.hpp>

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>

namespace smooch::detail {

class authorizer {
public:
    explicit authorizer(credentials c);
    /// Throws smooch::error(invalid_credentials) on incomplete credentials.
    void check() const;
    /// The header value at wall-clock time `now` (JWTs are signed, and re-signed near their expiry, here), or
    /// empty for no credentials.
    std::string header(std::chrono::system_clock::time_point now);

private:
    credentials creds_;
    std::mutex mu_;
    std::string cached_;
    std::chrono::system_clock::time_point refresh_at_{};
};

/// Signs a JWT for `c` at `now` (exposed for tests against published HS256 vectors).
std::string sign_jwt(const jwt_credentials& c, std::chrono::system_clock::time_point now);
/// HS256 over "header.payload" with `secret`, base64url.
std::string hs256_signature(std::string_view signing_input, std::string_view secret);

}  // namespace smooch::detail

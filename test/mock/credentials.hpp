// SPDX-License-Identifier: BSL-1.0
#pragma once
// Credentials and paths for smooch-mock's tests, built with OpenSSL directly: independent of the library's
// crypto and percent helpers, which the mock itself uses to check them. No Asio: the engine's unit tests
// (test/unit/mock_engine) include this too.

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <cstdio>
#include <string>
#include <string_view>

namespace mock_test {

inline std::string base64(std::string_view in)
{
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

inline std::string b64url(std::string_view in)
{
    std::string out = base64(in);
    for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
    while (!out.empty() && out.back() == '=') out.pop_back();
    return out;
}

inline std::string jwt(const std::string& header, const std::string& payload, const std::string& secret)
{
    std::string signing = b64url(header) + "." + b64url(payload);
    unsigned char mac[32];
    unsigned len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(signing.data()), signing.size(), mac, &len);
    return signing + "." + b64url(std::string_view(reinterpret_cast<char*>(mac), len));
}

inline std::string bearer(const std::string& kid, const std::string& payload, const std::string& secret)
{
    return "Bearer " + jwt(R"({"alg":"HS256","typ":"JWT","kid":")" + kid + "\"}", payload, secret);
}

// Basic needs standard, padded base64.
inline std::string basic_std(const std::string& id, const std::string& secret)
{
    return "Basic " + base64(id + ":" + secret);
}

inline std::string pct(std::string_view s)
{
    std::string out;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') out += static_cast<char>(c);
        else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

inline std::string msgs_path(std::string_view app, std::string_view user)
{
    return "/v1.1/apps/" + pct(app) + "/appusers/" + pct(user) + "/messages";
}

}  // namespace mock_test

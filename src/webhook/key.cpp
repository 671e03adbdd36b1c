// SPDX-License-Identifier: BSL-1.0
// check_webhook_key(): the X-API-Key header against the webhook's shared secret (reference.md §10).

#include <smooch/webhook.hpp>

#include "detail/crypto.hpp"

#include <string_view>

namespace smooch {

bool check_webhook_key(std::string_view header_value, std::string_view secret) noexcept
{
    if (secret.empty()) return false;
    // Digests of equal length, compared with CRYPTO_memcmp: the time depends neither on where the strings differ
    // nor on whether their lengths do. The HMAC key is only a domain separator, not a secret.
    constexpr std::string_view domain = "smooch-webhook-key-check";
    const auto a = detail::hmac_sha256(domain, header_value);
    const auto b = detail::hmac_sha256(domain, secret);
    const bool same_digest =
        detail::constant_time_equal(std::string_view(reinterpret_cast<const char*>(a.data()), a.size()),
                                    std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
    return same_digest;
}

}  // namespace smooch

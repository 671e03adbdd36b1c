// SPDX-License-Identifier: BSL-1.0
#pragma once
// Small OpenSSL-backed helpers shared by the client (JWT signing, basic auth) and smooch-mock (verification).

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace smooch::detail {

std::string base64_encode(std::string_view data);
std::string base64url_encode(std::string_view data);  ///< RFC 4648 §5, no padding (JWT).
/// Decodes unpadded or padded base64url; nullopt on any invalid character or length.
std::optional<std::string> base64url_decode(std::string_view text);
std::optional<std::string> base64_decode(std::string_view text);
/// HMAC-SHA256 of data under key (raw 32 bytes).
std::array<unsigned char, 32> hmac_sha256(std::string_view key, std::string_view data);
/// Constant-time comparison, for signatures and secrets.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace smooch::detail

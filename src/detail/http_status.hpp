// SPDX-License-Identifier: BSL-1.0
#pragma once
#include <string_view>

namespace smooch::detail {
/// Standard reason phrase of an HTTP status, empty if this library does not know it. Shared by the
/// smooch.http error category and smooch-mock's responses.
std::string_view reason_phrase(unsigned status) noexcept;
}  // namespace smooch::detail

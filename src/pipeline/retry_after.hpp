// SPDX-License-Identifier: BSL-1.0
#pragma once
// Retry-After (RFC 9110 §10.2.3), parsed once, in the transport: the gate and the retry decision both use it.

#include <chrono>
#include <optional>
#include <string_view>

namespace smooch::detail {

/// Parses a Retry-After value (RFC 9110 §10.2.3): delta-seconds, or an HTTP-date in IMF-fixdate, RFC 850 or
/// asctime form. `now` is the current wall-clock time (HTTP-dates are wall-clock). A date in the past gives 0.
/// Returns nullopt for anything else (the caller then falls back to backoff).
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);
}  // namespace smooch::detail

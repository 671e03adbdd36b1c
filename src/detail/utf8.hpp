// SPDX-License-Identifier: BSL-1.0
#pragma once
// The one UTF-8 validator (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), shared by the
// models (parse errors, request validation) and smooch-mock (ids and bodies written back as JSON).

#include <cstddef>
#include <string_view>

namespace smooch::detail {

/// The offset of the first byte of `s` that does not start a well-formed UTF-8 sequence, or
/// std::string_view::npos. ASCII runs are skipped a word at a time: request bodies are mostly ASCII.
std::size_t invalid_utf8_at(std::string_view s) noexcept;

/// The length (1 to 4) of the well-formed UTF-8 sequence that starts at s[i], or 0 if none does.
/// Precondition: i < s.size().
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept;

}  // namespace smooch::detail

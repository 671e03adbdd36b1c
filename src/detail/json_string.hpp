// SPDX-License-Identifier: BSL-1.0
#pragma once
// The one JSON string writer, shared by the models' serializer and smooch-mock's responses.

#include <string>
#include <string_view>

namespace smooch::detail {

/// What append_json_string() does with a byte that is not part of well-formed UTF-8.
enum class bad_utf8 {
    /// Written as \u00XX, so the output is always valid JSON (lossy for such bytes). smooch-mock's responses.
    escape,
    /// Copied as it is, like every byte from 0x80 up: serialize() keeps the bad byte where the field is, so the
    /// client's one UTF-8 check of the body it sends (validate_utf8) can refuse the request and name the field.
    copy,
};

/// Appends `s` to `out` as a quoted JSON string: `"` and `\` escaped, control characters as \n, \r, \t, \b,
/// \f or \u00XX, everything else (well-formed UTF-8 included) as it is; a byte that is not part of
/// well-formed UTF-8 as `bytes` says.
void append_json_string(std::string& out, std::string_view s, bad_utf8 bytes = bad_utf8::escape);

}  // namespace smooch::detail

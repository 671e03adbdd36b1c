#pragma once
// The one JSON string writer, shared by the models' serializer and smooch-mock's responses.

#include <string>
#include <string_view>

namespace smooch::detail {

/// Appends `s` to `out` as a quoted JSON string: `"` and `\` escaped, control characters as \n, \r, \t, \b,
/// \f or \u00XX. A byte that is not part of well-formed UTF-8 is written as \u00XX, so the output is always
/// valid JSON (lossy for such bytes; the client refuses non-UTF-8 requests before they get here).
void append_json_string(std::string& out, std::string_view s);

} // namespace smooch::detail

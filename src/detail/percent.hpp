// SPDX-License-Identifier: BSL-1.0
#pragma once
// Percent-encoding of path segments and query values (RFC 3986 §2.1), shared by the client (request targets)
// and smooch-mock (routing, next/previous URLs). The encoding itself is Boost.URL's.

#include <optional>
#include <string>
#include <string_view>

namespace smooch::detail {

/// Appends `s` to `out` with everything but RFC 3986 unreserved characters percent-encoded (upper-case hex).
/// A whole segment "." or ".." is encoded too (%2E, %2E%2E): servers and proxies would collapse it.
void append_segment(std::string& out, std::string_view s);
/// append_segment() into a new string.
std::string encode_segment(std::string_view s);
/// Decodes `s`; nullopt when it holds a malformed escape ("%", "%4", "%zz"). "+" stays "+".
std::optional<std::string> percent_decode(std::string_view s);

}  // namespace smooch::detail

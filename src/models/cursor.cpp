// SPDX-License-Identifier: BSL-1.0
// format_cursor(): a `received` double as a before/after query value.

#include <smooch/models.hpp>

#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

namespace smooch {

std::string format_cursor(double received)
{
    if (!std::isfinite(received)) return {};
    // Shortest round-trip digits in fixed notation: the server wants plain seconds ("1439220041.586"), not
    // "1.439220041586e+09". Fixed notation of a double needs at most 309 integer digits plus 17 significant
    // fraction digits after up to 324 leading zeros, so 1100 bytes always suffice.
    char buf[1100];
    const auto res = std::to_chars(buf, buf + sizeof buf, received, std::chars_format::fixed);
    if (res.ec != std::errc{}) return {};
    return std::string(buf, res.ptr);
}

}  // namespace smooch

// SPDX-License-Identifier: BSL-1.0
#pragma once
// A straightforward UTF-8 decoder written from RFC 3629's table (§4), for the codecs' tests to be checked
// against: no overlong forms, no surrogates, nothing above U+10FFFF.

#include <cstddef>
#include <string_view>

namespace test_utf8 {

/// The length of the well-formed sequence that starts at s[i], or 0.
inline std::size_t reference_length(std::string_view s, std::size_t i)
{
    const auto c = static_cast<unsigned char>(s[i]);
    const auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xbf) {
        if (i + k >= s.size()) return false;
        const auto d = static_cast<unsigned char>(s[i + k]);
        return d >= lo && d <= hi;
    };
    if (c <= 0x7f) return 1;
    if (c >= 0xc2 && c <= 0xdf && cont(1)) return 2;
    if (c == 0xe0 && cont(1, 0xa0) && cont(2)) return 3;
    if (((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) && cont(1) && cont(2)) return 3;
    if (c == 0xed && cont(1, 0x80, 0x9f) && cont(2)) return 3;
    if (c == 0xf0 && cont(1, 0x90) && cont(2) && cont(3)) return 4;
    if (c >= 0xf1 && c <= 0xf3 && cont(1) && cont(2) && cont(3)) return 4;
    if (c == 0xf4 && cont(1, 0x80, 0x8f) && cont(2) && cont(3)) return 4;
    return 0;
}

/// The offset of the first byte that does not start a well-formed sequence, or npos.
inline std::size_t reference_invalid_at(std::string_view s)
{
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t len = reference_length(s, i);
        if (len == 0) return i;
        i += len;
    }
    return std::string_view::npos;
}

}  // namespace test_utf8

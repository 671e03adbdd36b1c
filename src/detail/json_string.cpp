// SPDX-License-Identifier: BSL-1.0
#include "detail/json_string.hpp"

#include "detail/utf8.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

namespace smooch::detail {
namespace {

constexpr std::uint64_t ones = 0x0101010101010101ull;
constexpr std::uint64_t highs = 0x8080808080808080ull;

// The high bit of each byte of `w` that is a control character, '"' or '\' (or, with Utf8, from 0x80 up: it may
// start a bad sequence). Each term is the "has a byte less than n" trick: zero exactly when no byte is one, and
// its lowest set bit is exact (a borrow only runs upwards), though bytes above that may be flagged wrongly.
template <bool Utf8>
std::uint64_t bytes_needing_care(std::uint64_t w)
{
    const std::uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
    std::uint64_t hit = ((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash);
    if constexpr (Utf8) hit |= w;
    return hit & highs;
}

template <bool Utf8>
bool byte_needs_care(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\' || (Utf8 && c >= 0x80);
}

// Utf8: check the bytes from 0x80 up (bad_utf8::escape); without, they are copied unread (bad_utf8::copy).
template <bool Utf8>
void append(std::string& out, std::string_view s)
{
    static constexpr char hex[] = "0123456789abcdef";
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    out += '"';
    std::size_t run = 0;  // start of the pending run of bytes copied as they are, in one append
    std::size_t i = 0;
    // Non-ASCII text is dense: after a multi-byte sequence the next is likely near, found sooner byte by byte.
    std::size_t bytewise_until = 0;
    for (;;) {
        std::size_t end = n;  // of the byte scan below
        if (i < bytewise_until) {
            end = std::min(n, bytewise_until);
        } else {
            // Most text is plain: skip it a word at a time, straight to the first byte that needs care.
            while (i + 8 <= n) {
                std::uint64_t w;
                std::memcpy(&w, p + i, 8);
                if (const std::uint64_t hit = bytes_needing_care<Utf8>(w)) {
                    // Little-endian: byte k of the text is byte k of the word. Elsewhere the scan below finds it.
                    if constexpr (std::endian::native == std::endian::little)
                        i += static_cast<std::size_t>(std::countr_zero(hit)) / 8;
                    break;
                }
                i += 8;
            }
        }
        while (i < end && !byte_needs_care<Utf8>(p[i])) ++i;
        if (i == n) break;
        if (i == end) continue;
        const unsigned char c = p[i];
        if (Utf8 && c >= 0x80) {
            if (const std::size_t len = utf8_sequence_length(s, i)) {
                i += len;
                bytewise_until = i + 8;
                continue;
            }
        }
        out.append(s.data() + run, i - run);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 0xF];
        }
        run = ++i;
    }
    out.append(s.data() + run, n - run);
    out += '"';
}

}  // namespace

void append_json_string(std::string& out, std::string_view s, bad_utf8 bytes)
{
    if (bytes == bad_utf8::escape) append<true>(out, s);
    else append<false>(out, s);
}

}  // namespace smooch::detail

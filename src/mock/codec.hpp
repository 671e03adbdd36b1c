// SPDX-License-Identifier: BSL-1.0
#pragma once
// Text codecs that only smooch-mock needs: numbers and `received` stamps written by hand (responses are
// serialized without a JSON tree), the before/after cursor, query parameters, and the split of a posted JSON
// object into its members as written. The byte-level codecs shared with the library (percent-encoding, JSON
// strings, UTF-8) live in detail/; docs/mock.md "Shared codecs" says which is which.

#include <boost/container/small_vector.hpp>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smooch::mock::detail {

inline constexpr char hex_digits[] = "0123456789abcdef";

template <class Int>
void append_int(std::string& out, Int v)
{
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

/// `received` as seconds with exactly three fraction digits (never exponent notation).
void append_timestamp(std::string& out, std::int64_t ms);

/// A `before`/`after` cursor: `ms` = floor(value in ms); `extra` = it had non-zero digits beyond ms.
struct cursor {
    std::int64_t ms = 0;
    bool extra = false;
};

/// Reads `DIGITS[.DIGITS]` (at most 12 integer digits); nullopt for anything else (sign, exponent, empty).
std::optional<cursor> parse_cursor(std::string_view s);

/// Finds `name` in a query string; nullopt if absent. Values are percent-decoded; "" if undecodable.
std::optional<std::string> query_param(std::string_view q, std::string_view name);

/// One member of a JSON object's text, as written.
struct raw_member {
    std::string key;             // decoded
    std::string_view key_token;  // the key with its quotes and escapes
    std::string_view value;      // the value's text
};

using raw_members = boost::container::small_vector<raw_member, 12>;

/// Splits the text of a JSON object (already accepted by the parser) into its top-level members, so that
/// stored messages repeat posted values byte for byte: numbers keep their exact digits (0.1 stays 0.1, not
/// 1E-1, and nothing is re-rounded), strings their escapes. False if the text is not as expected.
bool split_members(std::string_view s, raw_members& out);

/// Splits the text of a JSON array (already accepted by the parser) into its elements, as written. False if the
/// text is not as expected.
bool split_elements(std::string_view s, std::vector<std::string_view>& out);

}  // namespace smooch::mock::detail

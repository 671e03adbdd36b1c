// SPDX-License-Identifier: BSL-1.0
#include "detail/percent.hpp"

#include <boost/url/encode.hpp>

#include <algorithm>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace smooch::detail {

void append_segment(std::string& out, std::string_view s)
{
    if (s == "." || s == "..") {
        out += s.size() == 1 ? "%2E" : "%2E%2E";
        return;
    }
    // Ids are mostly plain: copy them at once, and let Boost.URL encode only those that need it.
    if (std::all_of(s.begin(), s.end(), [](char c) { return boost::urls::unreserved_chars(static_cast<unsigned char>(c)); })) {
        out.append(s);
        return;
    }
    boost::urls::encode(s, boost::urls::unreserved_chars, {}, boost::urls::string_token::append_to(out));
}

std::string encode_segment(std::string_view s)
{
    std::string out;
    append_segment(out, s);
    return out;
}

std::optional<std::string> percent_decode(std::string_view s)
{
    auto pct = boost::urls::make_pct_string_view(s);
    if (!pct) return std::nullopt;
    return pct->decode();
}

}  // namespace smooch::detail

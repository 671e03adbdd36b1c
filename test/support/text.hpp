// SPDX-License-Identifier: BSL-1.0
#pragma once
// Checks on what a program prints.

#include <algorithm>
#include <string>
#include <vector>

namespace smooch::test {

/// The lines of `text` wider than a terminal of `columns` (help texts must fit 80).
inline std::vector<std::string> lines_wider_than(const std::string& text, std::size_t columns = 80)
{
    std::vector<std::string> wide;
    for (std::size_t at = 0, end; at < text.size(); at = end + 1) {
        end = std::min(text.find('\n', at), text.size());
        if (end - at > columns) wide.push_back(text.substr(at, end - at));
    }
    return wide;
}

/// For BOOST_TEST's message: the first such line, or nothing.
inline std::string first_of(const std::vector<std::string>& lines) { return lines.empty() ? "" : lines.front(); }

}  // namespace smooch::test

// SPDX-License-Identifier: BSL-1.0
#pragma once
// The program's progress line for a terminal: done/total, rate, ETA, failed, unknown, fitted to the width.

#include <cstdint>
#include <string>

namespace smooch::dispatch::detail {

struct progress_view {
    std::uint64_t done = 0, total = 0;  ///< total 0: unknown
    double rate = 0;                    ///< lines ended per second, recent
    std::uint64_t failed = 0;           ///< failed + rejected
    std::uint64_t unknown = 0;
};

/// One line of at most width - 1 columns (the last column stays free so the terminal never wraps), no newline.
/// The bar shrinks first, then disappears, then the text is cut.
std::string render_progress(const progress_view& v, unsigned width);

/// Columns of the terminal on `fd`, or 80 if it does not say.
unsigned terminal_width(int fd);

}  // namespace smooch::dispatch::detail

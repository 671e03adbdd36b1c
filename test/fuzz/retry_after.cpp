// SPDX-License-Identifier: BSL-1.0
// parse_retry_after(): any header value gives a wait of at least 0 or nullopt (the caller falls back to backoff).

#include "pipeline/retry_after.hpp"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    // A fixed "now" (Wed, 02 Dec 2026 12:00:00 GMT) keeps runs reproducible; dates either side of it occur.
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1796212800));
    auto r = smooch::detail::parse_retry_after(text, now);
    if (r && r->count() < 0) std::abort();
    return 0;
}

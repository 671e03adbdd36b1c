// SPDX-License-Identifier: BSL-1.0
#pragma once
// Reading back, sans-I/O: the pages of one user's conversation from shortly before the oldest intent forward, and
// which of the lines we look for they hold. One reconcile_walk covers every unknown line of one (app, user) that was
// ready at once, so a user costs one read per page, however many of its lines are unknown.

#include "dispatch/client_calls.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace smooch::dispatch::detail {

struct check {
    std::uint64_t line = 0;
    std::string key;
    std::int64_t intent_ms = 0;  ///< Unix ms: when the intent was recorded (before any byte of the post left).
};

class reconcile_walk {
public:
    reconcile_walk(const std::vector<check>& checks, std::chrono::milliseconds clock_skew);

    /// The `after` cursor of the next read (exclusive).
    const std::string& cursor() const noexcept { return cursor_; }
    bool done() const noexcept { return done_; }
    /// Feeds the page read at cursor().
    void on_page(const std::vector<seen_message>& messages, bool has_next);
    /// The conversation does not exist (404): none of the posts was stored.
    void on_no_conversation() { done_ = true; }
    /// The line's `_id` when found.
    const std::unordered_map<std::uint64_t, std::string>& found() const noexcept { return found_; }
    unsigned pages() const noexcept { return pages_; }

private:
    std::unordered_map<std::string, std::uint64_t> wanted_;  // key -> line, not yet found
    std::unordered_map<std::uint64_t, std::string> found_;
    std::unordered_set<std::string> boundary_ids_;  // seen at the end of the last page: the next one re-reads them
    std::string cursor_;
    bool done_ = false;
    unsigned pages_ = 0;
};

}  // namespace smooch::dispatch::detail

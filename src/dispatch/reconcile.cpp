// SPDX-License-Identifier: BSL-1.0
#include "dispatch/reconcile.hpp"

#include <smooch/models.hpp>

#include <algorithm>

namespace smooch::dispatch::detail {

reconcile_walk::reconcile_walk(const std::vector<check>& checks, std::chrono::milliseconds clock_skew)
{
    std::int64_t oldest = INT64_MAX;
    for (const auto& c : checks) {
        wanted_.emplace(c.key, c.line);
        oldest = std::min(oldest, c.intent_ms);
    }
    done_ = wanted_.empty();
    const std::int64_t from_ms = std::max<std::int64_t>(0, (done_ ? 0 : oldest) - clock_skew.count());
    cursor_ = format_cursor(static_cast<double>(from_ms) / 1000.0);
}

void reconcile_walk::on_page(const std::vector<seen_message>& messages, bool has_next)
{
    ++pages_;
    for (const auto& m : messages) {
        if (boundary_ids_.contains(m.id) || !m.key) continue;
        if (auto it = wanted_.find(*m.key); it != wanted_.end()) {
            found_.emplace(it->second, m.id);
            wanted_.erase(it);
        }
    }
    if (wanted_.empty() || !has_next || messages.empty()) {
        done_ = true;
        return;
    }
    // `after` is exclusive, and messages may share a `received` value: start the next page just before the last
    // page's final group and skip the ids already seen in it, so none at the boundary is missed.
    const double last = messages.back().received;
    boundary_ids_.clear();
    double inner = last;
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
        if (it->received != last) {
            inner = it->received;
            break;
        }
        boundary_ids_.insert(it->id);
    }
    if (inner == last) boundary_ids_.clear();  // a whole page of one timestamp: nothing better than `last`
    cursor_ = format_cursor(inner);
}

}  // namespace smooch::dispatch::detail

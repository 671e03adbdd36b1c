// SPDX-License-Identifier: BSL-1.0
// webhook_deduplicator: message ids seen within a window, oldest first, bounded in count.

#include <smooch/webhook.hpp>

#include <algorithm>
#include <iterator>
#include <stdexcept>

namespace smooch {

webhook_deduplicator::webhook_deduplicator(webhook_dedup_params p) : params_(p)
{
    if (p.window.count() <= 0) throw std::invalid_argument("webhook_dedup_params.window must be > 0");
    if (p.max_entries == 0) throw std::invalid_argument("webhook_dedup_params.max_entries must be > 0");
    by_id_.reserve(std::min<std::size_t>(p.max_entries, 1024));
}

void webhook_deduplicator::expire(clock::time_point now)
{
    if (now > latest_) latest_ = now;
    // Entries are in first-seen order and times never go backwards here, so expired ones are at the front.
    while (!order_.empty() && latest_ - order_.front().first_seen >= params_.window) {
        by_id_.erase(order_.front().id);
        order_.pop_front();
    }
}

bool webhook_deduplicator::first_time(std::string_view id, clock::time_point now)
{
    expire(now);
    if (by_id_.find(id) != by_id_.end()) return false;
    if (order_.size() >= params_.max_entries) {
        by_id_.erase(order_.front().id);
        order_.pop_front();
        ++evicted_early_;
    }
    order_.push_back(entry{std::string(id), latest_});
    auto it = std::prev(order_.end());
    by_id_.emplace(std::string_view(it->id), it);
    return true;
}

bool webhook_deduplicator::seen(std::string_view id, clock::time_point now)
{
    expire(now);
    return by_id_.find(id) != by_id_.end();
}

void webhook_deduplicator::forget(std::string_view id)
{
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return;
    auto pos = it->second;
    by_id_.erase(it);
    order_.erase(pos);
}

}  // namespace smooch

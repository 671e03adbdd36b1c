// SPDX-License-Identifier: BSL-1.0
// walk_history: pages of get_messages over a whole conversation, without skipping or repeating a message.

#include "api/call.hpp"

#include <algorithm>
#include <optional>
#include <unordered_set>

namespace smooch::detail {

namespace asio = boost::asio;

constexpr std::size_t max_page = 100;  // get_messages returns at most this many messages

asio::awaitable<error_code> walk(call& c, std::size_t& visited, diagnostics& diag)
{
    const bool forward = c.direction == walk_direction::oldest_first;
    get_messages_query q;
    if (forward) q.after = "0";
    visited = 0;
    // Ids already visited whose `received` equals the boundary value: those may come back on the next page.
    std::unordered_set<std::string> boundary_ids;
    std::optional<double> boundary;
    for (;;) {
        auto page_call = make_get_messages(c.impl, c.app_id, c.user_id, q, c.opts);
        get_messages_response page;
        const error_code ec = co_await perform(page_call, page, diag);
        diag.operation = "walk_history";
        if (ec) co_return ec;
        std::vector<message> msgs = page.messages ? std::move(*page.messages) : std::vector<message>{};
        std::stable_sort(msgs.begin(), msgs.end(), [](const message& a, const message& b) {
            return a.received.value_or(0) < b.received.value_or(0);
        });
        if (!forward) std::reverse(msgs.begin(), msgs.end());
        const bool more = forward ? page.has_next() : page.has_previous();
        // A full page of one timestamp with more to come: the group may be larger than a page, and the API's
        // exclusive before/after bounds cannot step into it, so messages would be skipped. Say so instead.
        if (more && msgs.size() >= max_page && msgs.front().received.value_or(0) == msgs.back().received.value_or(0)) {
            diag.message = std::to_string(msgs.size()) +
                           " or more messages share received=" + format_cursor(msgs.front().received.value_or(0)) +
                           ": the API pages by exclusive before/after bounds and cannot list them all; the walk "
                           "stopped after " +
                           std::to_string(visited) + " messages, and those at that timestamp may be incomplete";
            co_return client_errc::unpageable_history;
        }
        std::size_t fresh = 0;
        for (const auto& m : msgs) {
            const double r = m.received.value_or(0);
            if (boundary && (forward ? r < *boundary : r > *boundary)) continue;  // visited on an earlier page
            if (boundary && r == *boundary && m.id && boundary_ids.count(*m.id)) continue;
            ++fresh;
            ++visited;
            c.on_message(m);
        }
        if (!more || msgs.empty()) co_return error_code{};

        // Next cursor: the value just before the last group, so the boundary group is read again in full.
        const double last = msgs.back().received.value_or(0);
        std::optional<double> inner;
        for (auto it = msgs.rbegin(); it != msgs.rend(); ++it)
            if (it->received.value_or(0) != last) {
                inner = it->received.value_or(0);
                break;
            }
        if (!boundary || last != *boundary) boundary_ids.clear();
        for (const auto& m : msgs)
            if (m.received.value_or(0) == last && m.id) boundary_ids.insert(*m.id);
        boundary = last;
        // No new message on this page, or a page that is one timestamp group: step strictly past it.
        const double cursor = (inner && fresh > 0) ? *inner : last;
        q = {};
        (forward ? q.after : q.before) = format_cursor(cursor);
    }
}

}  // namespace smooch::detail

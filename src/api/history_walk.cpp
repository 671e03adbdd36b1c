// walk_history: pages of get_messages over a whole conversation, without skipping or repeating a message.

#include <smooch/conversation_api.hpp>

#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <optional>
#include <unordered_set>

namespace smooch {

namespace asio = boost::asio;

namespace {

asio::awaitable<std::size_t> walk(conversation_api api, std::string app, std::string user, walk_direction dir,
                                  std::function<void(const message&)> on_message, call_options opts)
{
    const bool forward = dir == walk_direction::oldest_first;
    get_messages_query q;
    if (forward) q.after = "0";
    std::size_t visited = 0;
    // Ids already visited whose `received` equals the boundary value: those may come back on the next page.
    std::unordered_set<std::string> boundary_ids;
    std::optional<double> boundary;
    for (;;) {
        auto page = co_await api.get_messages(app, user, q, opts);
        std::vector<message> msgs = page.messages ? std::move(*page.messages) : std::vector<message>{};
        std::stable_sort(msgs.begin(), msgs.end(), [](const message& a, const message& b) {
            return a.received.value_or(0) < b.received.value_or(0);
        });
        if (!forward) std::reverse(msgs.begin(), msgs.end());
        std::size_t fresh = 0;
        for (const auto& m : msgs) {
            const double r = m.received.value_or(0);
            if (boundary && (forward ? r < *boundary : r > *boundary)) continue;  // visited on an earlier page
            if (boundary && r == *boundary && m.id && boundary_ids.count(*m.id)) continue;
            ++fresh;
            ++visited;
            on_message(m);
        }
        const bool more = forward ? page.has_next() : page.has_previous();
        if (!more || msgs.empty()) co_return visited;

        // Next cursor: the value just before the last group, so the boundary group is read again in full.
        const double last = msgs.back().received.value_or(0);
        std::optional<double> inner;
        for (auto it = msgs.rbegin(); it != msgs.rend(); ++it)
            if (it->received.value_or(0) != last) { inner = it->received.value_or(0); break; }
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

} // namespace

asio::awaitable<std::size_t> conversation_api::walk_history(std::string_view app_id, std::string_view user_id,
                                                            walk_direction direction,
                                                            std::function<void(const message&)> on_message,
                                                            call_options opts)
{
    return walk(*this, std::string(app_id), std::string(user_id), direction, std::move(on_message), std::move(opts));
}

} // namespace smooch

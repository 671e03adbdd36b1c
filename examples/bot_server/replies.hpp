// SPDX-License-Identifier: BSL-1.0
#pragma once
// The bot's only dealings with the Conversation API (the "repository" of the anchor example): for each new
// user message, in the background, typing:start, the reply, typing:stop. Runs on the io_context of the server
// and the smooch::client, so nothing here needs a lock.

#include <smooch/conversation_api.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace bot {

struct reply_counters {
    std::uint64_t sent = 0;    ///< Replies the API accepted.
    std::uint64_t failed = 0;  ///< Replies that failed (logged with the API's diagnostics).
};

class replier {
public:
    explicit replier(smooch::client& c) : api_(c) {}
    /// Starts the replies to one user message; returns at once.
    void reply(std::string app_id, std::string user_id, std::string text);
    /// Replies started and not finished.
    std::size_t in_flight() const noexcept { return in_flight_; }
    const reply_counters& counters() const noexcept { return counters_; }
    /// Calls `then` once no reply is in flight (at once if none is).
    void when_idle(std::function<void()> then);

private:
    boost::asio::awaitable<void> run(std::string app_id, std::string user_id, std::string text);
    void finished();

    smooch::conversation_api api_;
    std::size_t in_flight_ = 0;
    reply_counters counters_;
    std::function<void()> on_idle_;
};

}  // namespace bot

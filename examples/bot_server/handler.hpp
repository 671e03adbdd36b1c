// SPDX-License-Identifier: BSL-1.0
#pragma once
// What the bot does with one webhook request, decided at once: check the key, parse, de-duplicate, start the
// replies in the background, and answer. Statuses follow the redelivery rules of reference.md §10: 200 when
// handled (or deliberately ignored), 400/401/404 when a redelivery could not help, 503 when it could.

#include "replies.hpp"
#include "server.hpp"

#include <smooch/webhook.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace bot {

struct handler_counters {
    std::uint64_t webhooks = 0;    ///< Requests that passed the key check and parsed.
    std::uint64_t duplicates = 0;  ///< Messages already handled (redeliveries), acknowledged and skipped.
    std::uint64_t rejected = 0;    ///< Requests answered with a 4xx.
    std::uint64_t busy = 0;        ///< Requests answered 503 because too many replies were in flight.
};

class webhook_handler {
public:
    /// `max_replies_in_flight`: beyond it a webhook gets 503, so Smooch redelivers it later (bounded memory).
    webhook_handler(std::string secret, replier& replies, std::size_t max_replies_in_flight,
                    smooch::webhook_dedup_params dedup = {});
    response operator()(const request& req);
    /// From now on every webhook gets 503: a stopping bot promises no new replies, and Smooch redelivers.
    void stop() noexcept { stopping_ = true; }
    const handler_counters& counters() const noexcept { return counters_; }

private:
    std::string secret_;
    replier& replies_;
    std::size_t max_in_flight_;
    smooch::webhook_deduplicator seen_;
    handler_counters counters_;
    bool stopping_ = false;
};

}  // namespace bot

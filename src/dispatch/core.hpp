// SPDX-License-Identifier: BSL-1.0
#pragma once
// The dispatcher's decisions, sans-I/O (no socket, no SQLite, no clock of its own): what a post's answer means for
// its line, what follows reading back, when the campaign must stop, what a resumed run does with each line.
// Unit-tested in test/unit/dispatch/core.cpp.

#include "dispatch/client_calls.hpp"

#include <smooch/dispatch.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace smooch::dispatch::detail {

/// What one post's answer says about its message.
enum class post_verdict {
    delivered,  ///< 2xx with the stored message's `_id`.
    applied,    ///< The server applied it (a 2xx), but we have no `_id`: read back to find it, never resend.
    unknown,    ///< It may have been applied (reset or timeout after sending, 5xx, cancellation after sending).
    failed,     ///< A definitive refusal (4xx other than 429): the line fails with status, code and description.
    rejected,   ///< The client refused the request before sending it (validation): the line is invalid.
    retry,      ///< Definitely not applied (connect failure, 429 or 503+Retry-After past the deadline, pool full).
};
const char* to_string(post_verdict v) noexcept;

struct post_assessment {
    post_verdict verdict = post_verdict::retry;
    bool auth_failure = false;    ///< 401 or 403: the same for every line of a misconfigured campaign.
    bool server_trouble = false;  ///< Transport, timeout or 5xx: counts towards "the server is down".
};
post_assessment assess(const post_result& r);

/// What the dispatcher does with a line next.
enum class next_step {
    finish_delivered,
    finish_failed,
    finish_rejected,
    reconcile,   ///< Wait the settle delay, then read the conversation back.
    send_again,  ///< Record a new intent and post again (after retry_delay for `retry`).
    give_up,     ///< max_sends reached without a definitive answer: the line fails ("gave up").
};

/// After a post answered with `v`; `sends` counts this line's posts in this run, this one included.
next_step after_post(post_verdict v, unsigned sends, unsigned max_sends);

/// After reading back: `found` the key; `applied` the server had said 2xx.
next_step after_check(bool found, bool applied, unsigned sends, unsigned max_sends);

/// Decides when a campaign must stop early: a configuration that fails every line alike (401/403 with nothing
/// delivered between), or a server that is down (transport errors, timeouts, 5xx with nothing succeeding between).
class health {
public:
    health(unsigned auth_limit, unsigned error_limit) : auth_limit_(auth_limit), error_limit_(error_limit) {}
    /// A delivery or a successful read: the configuration works.
    void on_success();
    void on_auth_failure(const std::string& description);
    void on_server_trouble(const std::string& description);
    /// Set once a limit is reached: a sentence for the operator.
    const std::optional<std::string>& stop_reason() const noexcept { return stop_; }

private:
    unsigned auth_limit_, error_limit_;
    unsigned auth_streak_ = 0, error_streak_ = 0;
    std::optional<std::string> stop_;
};

/// What a run does with a line the source gives it, from the journal's state (`absent` if it holds none).
enum class on_read { skip, send_new, send_again };
on_read resume_action(std::uint8_t journal_state, bool retry_failed);

}  // namespace smooch::dispatch::detail

// SPDX-License-Identifier: BSL-1.0
#include "dispatch/core.hpp"

#include "dispatch/journal.hpp"

namespace smooch::dispatch::detail {

const char* to_string(post_verdict v) noexcept
{
    switch (v) {
    case post_verdict::delivered: return "delivered";
    case post_verdict::applied: return "applied";
    case post_verdict::unknown: return "unknown";
    case post_verdict::failed: return "failed";
    case post_verdict::rejected: return "rejected";
    case post_verdict::retry: return "retry";
    }
    return "?";
}

post_assessment assess(const post_result& r)
{
    post_assessment a;
    if (!r.ec) {
        a.verdict = r.message_id ? post_verdict::delivered : post_verdict::applied;
        return a;
    }
    // A 2xx whose body did not parse was applied, whatever the error says: resending would duplicate it.
    if (r.status >= 200 && r.status < 300) {
        a.verdict = post_verdict::applied;
        return a;
    }
    if (r.outcome_unknown || r.ec == client_errc::outcome_unknown) {
        a.verdict = post_verdict::unknown;
        a.server_trouble = true;
        return a;
    }
    if (r.ec == client_errc::invalid_request) {
        a.verdict = post_verdict::rejected;
        return a;
    }
    if (is_http_error(r.ec) && r.status >= 400 && r.status < 500 && r.status != 429) {
        a.verdict = post_verdict::failed;
        a.auth_failure = r.status == 401 || r.status == 403;
        return a;
    }
    // Everything else was definitely not applied (the client says outcome_unknown otherwise): 429 or 503 past the
    // deadline, connect failures, the retry budget, a full pool queue, a 5xx after which nothing can have happened.
    a.verdict = post_verdict::retry;
    a.server_trouble = r.ec != client_errc::rate_limited && r.ec != client_errc::pool_queue_full;
    return a;
}

next_step after_post(post_verdict v, unsigned sends, unsigned max_sends)
{
    switch (v) {
    case post_verdict::delivered: return next_step::finish_delivered;
    case post_verdict::failed: return next_step::finish_failed;
    case post_verdict::rejected: return next_step::finish_rejected;
    case post_verdict::applied:
    case post_verdict::unknown: return next_step::reconcile;
    case post_verdict::retry: return sends >= max_sends ? next_step::give_up : next_step::send_again;
    }
    return next_step::give_up;
}

next_step after_check(bool found, bool applied, unsigned sends, unsigned max_sends)
{
    if (found || applied) return next_step::finish_delivered;  // applied but not visible: delivered, id unknown
    return sends >= max_sends ? next_step::give_up : next_step::send_again;
}

void health::on_success()
{
    auth_streak_ = 0;
    error_streak_ = 0;
}

void health::on_auth_failure(const std::string& description)
{
    if (stop_ || auth_limit_ == 0 || ++auth_streak_ < auth_limit_) return;
    stop_ = "stopped early: " + std::to_string(auth_streak_) +
            " lines in a row were refused (401/403) and none was delivered, so the credentials or the app are wrong "
            "for every line. Last: " +
            description + ". Fix the configuration, then run again with --retry-failed.";
}

void health::on_server_trouble(const std::string& description)
{
    if (stop_ || error_limit_ == 0 || ++error_streak_ < error_limit_) return;
    stop_ = "stopped early: " + std::to_string(error_streak_) +
            " calls in a row failed (transport errors, timeouts or 5xx) and none succeeded, so the server looks "
            "down. Last: " +
            description + ". Run again to resume.";
}

on_read resume_action(std::uint8_t state, bool retry_failed)
{
    if (state == absent) return on_read::send_new;
    switch (static_cast<line_state>(state)) {
    case line_state::pending: return on_read::send_again;
    case line_state::failed: return retry_failed ? on_read::send_again : on_read::skip;
    case line_state::delivered:
    case line_state::rejected: return on_read::skip;
    case line_state::sending:
    case line_state::unknown: return on_read::skip;  // settled by recovery before any line is read
    }
    return on_read::skip;
}

}  // namespace smooch::dispatch::detail

// SPDX-License-Identifier: BSL-1.0
#pragma once
// The decisions of one call's retry loop, without I/O: each attempt's result and the current time in, what to do
// next out.

#include <smooch/client.hpp>

#include "pipeline/backoff.hpp"
#include "pipeline/classify.hpp"
#include "pipeline/retry_budget.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace smooch::detail {

/// What the retry loop does next.
enum class next_step {
    succeed,  ///< Done: the call succeeded.
    replay,   ///< Replay at once (the free stale-connection replay).
    retry,    ///< Wait `delay` (at the gate when `at_gate`), then try again.
    stop,     ///< Give up with `ec` and `reason`.
};

struct decision {
    next_step next = next_step::stop;
    failure_kind kind = failure_kind::none;  ///< The attempt's classification (for counters).
    std::chrono::milliseconds delay{0};      ///< retry: the wait before the next attempt; stop: the wait
                                             ///< that was computed (e.g. the one that did not fit), else 0.
    bool at_gate = false;                    ///< retry: a 429 closed the app's gate; the gate does the waiting.
    smooch::stop_reason reason = stop_reason::none;
    error_code ec;        ///< stop: what the call returns.
    std::string message;  ///< stop: explanation for diagnostics (empty: keep the attempt's).
};

/// What the retry loop must know of an operation beyond its request.
struct call_semantics {
    bool idempotent = true;  ///< Safe to send twice (all but post_message).
    /// A 404 after an attempt that may have been applied means that attempt did it (delete_message): success.
    bool not_found_after_apply_is_done = false;
};

/// The decisions of one call's retry loop (docs/retries.md), without I/O: the caller
/// feeds each attempt's result and the current time and gets back what to do. Not thread-safe; `budget` and
/// `rng` are the caller's (shared, so locked by the caller).
class retry_state {
public:
    retry_state(const retry_params& rp, call_semantics what, clock::time_point deadline)
        : rp_(rp), idempotent_(what.idempotent), gone_is_done_(what.not_found_after_apply_is_done), deadline_(deadline)
    {}

    /// `gate_wait`: set when a 429 closed the app's gate, the time until it reopens (the gate does the waiting).
    template <class Rng>
    decision on_attempt(const attempt_result& o, std::optional<std::chrono::milliseconds> gate_wait,
                        clock::time_point now, retry_budget& budget, Rng& rng)
    {
        decision d;
        d.kind = classify(o);
        ++attempts_;
        // An earlier attempt was cut off after sending and this one finds the target gone: that attempt did it.
        if (gone_is_done_ && maybe_applied_ && !o.ec && o.status == 404) d.kind = failure_kind::none;
        if (may_have_applied(o, d.kind)) maybe_applied_ = true;
        verdict v = classify(d.kind, idempotent_, rp_.retry_unknown_outcome);
        if (v == verdict::replay_free) {
            if (!replayed_) {
                replayed_ = true;
                --attempts_;  // free: not an attempt, not a retry
                d.next = next_step::replay;
                return d;
            }
            v = verdict::retry;  // a second dead connection in a row: back off like a connect failure
        }
        if (v == verdict::done) {
            succeeded_ = true;
            d.next = next_step::succeed;
            d.reason = stop_reason::success;
            return d;
        }
        const error_code last = o.ec ? o.ec : make_http_error(o.status);
        auto last_failure = [&] { return o.message.empty() ? last.message() : o.message; };
        if (o.ec == client_errc::deadline_exceeded) return stop(d, stop_reason::deadline, last);
        if (d.kind == failure_kind::cancelled) return stop(d, stop_reason::cancelled, last);
        if (v == verdict::fail) return stop(d, stop_reason::permanent_error, last);
        if (v == verdict::fail_unknown)
            return stop(d, stop_reason::not_idempotent, client_errc::outcome_unknown, last_failure());

        // verdict::retry
        bool server_said = false;  // the wait is the server's Retry-After
        if (gate_wait) {
            d.delay = *gate_wait;
            d.at_gate = true;
            server_said = o.retry_after.has_value();
        } else if (o.retry_after) {
            d.delay = std::min(*o.retry_after, rp_.max_retry_after);
            server_said = true;
        } else {
            d.delay = full_jitter(attempts_ - throttled_, rp_.backoff_base, rp_.backoff_cap, rng);  // failures only
        }
        // Throttled attempts were refused, not failed: they have their own cap and skip the budget (the gate
        // paces them), so a long stretch of 429s ends only at the deadline.
        const bool throttled = d.kind == failure_kind::throttled;
        if (throttled) ++throttled_;
        if (throttled ? throttled_ > rp_.max_throttled_retries : attempts_ - throttled_ >= rp_.max_attempts)
            return stop(d, stop_reason::attempts_exhausted, last);
        if (now + d.delay > deadline_) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now).count();
            const auto wait = std::to_string(d.delay.count()) + " ms, " + std::to_string(left) + " ms left";
            if (server_said)
                return stop(d, stop_reason::deadline, client_errc::rate_limited,
                            "the server's Retry-After ends after the deadline (" + wait + ")");
            if (throttled)
                return stop(d, stop_reason::deadline, client_errc::rate_limited,
                            "throttled (HTTP " + std::to_string(o.status) +
                                " without Retry-After): the app's gate stays closed past the deadline (" + wait + ")");
            return stop(d, stop_reason::deadline, client_errc::deadline_exceeded,
                        "the wait before retry " + std::to_string(attempts_) + " (" + std::to_string(d.delay.count()) +
                            " ms) would end after the deadline; last failure: " + last_failure());
        }
        if (!throttled && !budget.try_retry(now))
            return stop(d, stop_reason::budget_exhausted, client_errc::retry_budget_exhausted,
                        "last failure: " + last_failure());
        d.next = next_step::retry;
        return d;
    }

    /// The app's gate would admit the request only after the deadline: still paused or ramping after 429s
    /// (`after_429`), or held by the client-side rate limit.
    decision on_gate_after_deadline(bool after_429)
    {
        decision d;
        return stop(d, stop_reason::deadline, client_errc::rate_limited,
                    after_429 ? "the app's gate, closed by HTTP 429s, admits this request only after the deadline"
                              : "the client-side rate limit (rate_limit_params) admits this request only after the "
                                "deadline");
    }

    /// The caller cancelled while the call waited (at the gate, in a backoff) or an exception ended it.
    decision on_cancelled(error_code ec)
    {
        decision d;
        d.kind = failure_kind::cancelled;
        return stop(d, stop_reason::cancelled, ec ? ec : error_code(boost::asio::error::operation_aborted));
    }

    /// Attempts made so far (the free replay excluded).
    unsigned attempts() const noexcept { return attempts_; }
    /// True when the call is not idempotent and some attempt may have been applied (see may_have_applied):
    /// a failed call must then report diagnostics::outcome_unknown.
    bool outcome_unknown() const noexcept { return !idempotent_ && maybe_applied_ && !succeeded_; }

private:
    static decision stop(decision& d, smooch::stop_reason r, error_code ec, std::string message = {})
    {
        d.next = next_step::stop;
        d.reason = r;
        d.ec = ec;
        d.message = std::move(message);
        d.at_gate = false;
        return d;
    }

    retry_params rp_;
    bool idempotent_;
    bool gone_is_done_;
    clock::time_point deadline_;
    unsigned attempts_ = 0;
    unsigned throttled_ = 0;  // attempts answered 429 / 503 with Retry-After
    bool replayed_ = false;
    bool maybe_applied_ = false;
    bool succeeded_ = false;
};

}  // namespace smooch::detail

// SPDX-License-Identifier: BSL-1.0
#pragma once
// The request pipeline: per-app admission, the retry loop, the one deadline, counters and diagnostics, around
// a transport (docs/retries.md). Every decision is made by the sans-I/O pieces next to this file; execute() only
// waits, runs attempts and records what they decided.

#include <smooch/client.hpp>

#include "common/counters.hpp"
#include "credentials/authorizer.hpp"
#include "pipeline/pipeline_clock.hpp"
#include "pipeline/rate_gate.hpp"
#include "pipeline/retry_budget.hpp"
#include "pipeline/retry_state.hpp"
#include "transport/transport.hpp"

#include <boost/asio/awaitable.hpp>

#include <map>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

namespace smooch::detail {

class pipeline {
public:
    /// `p`, `net`, `stats` and `time` must outlive the pipeline; p.credentials are checked (authorizer::check).
    /// `seed` seeds the jitter of backoffs and ramps (a test passes its own, to be repeatable).
    pipeline(const client_params& p, transport& net, atomic_counters& stats,
             pipeline_clock& time = steady_pipeline_clock(), std::uint32_t seed = std::random_device{}());

    /// Runs a request through gate, retries and transport. On failure returns the error, fills diag and counts
    /// the call failed; on an HTTP error response `out` has the status and body (diag the API error fields).
    /// On success the caller counts the call, succeeded or failed, once it has read the body.
    boost::asio::awaitable<error_code> execute(std::string_view app_id, const outgoing_request& req,
                                               call_semantics what, const call_options& opts, attempt_result& out,
                                               diagnostics& diag);

    /// Gates held now, and whether `app` has one (tests of the table's sweep).
    std::size_t gate_count() const;
    bool has_gate(std::string_view app) const;

private:
    struct hooks;
    rate_gate& gate_of(std::string_view app, clock::time_point now);  // gate_mu_ held
    void leave_queue(std::string_view app, rate_gate::ticket& place);
    void report_attempt(const diagnostics& diag, std::string_view app_id, clock::time_point start,
                        const attempt_result& r, const struct decision& d);

    const client_params& params_;
    transport& net_;
    atomic_counters& stats_;
    pipeline_clock& time_;
    observer* observer_;  // params_.observer, or null
    authorizer auth_;

    // Per-app rate gates, the retry budget and the jitter source, behind one mutex (short critical sections,
    // no I/O under it).
    mutable std::mutex gate_mu_;
    std::map<std::string, rate_gate, std::less<>> gates_;
    retry_budget budget_;
    std::minstd_rand rng_;
};

}  // namespace smooch::detail

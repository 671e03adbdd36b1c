// SPDX-License-Identifier: BSL-1.0
// The request pipeline's loop: admission at the app's gate, attempts through the transport, the retry decision,
// waits, and what the caller is told (docs/retries.md).

#include "pipeline/pipeline.hpp"

#include <smooch/json.hpp>
#include <smooch/rate_source.hpp>

#include "pipeline/classify.hpp"
#include "pipeline/retry_state.hpp"

#include <boost/asio/error.hpp>

namespace smooch::detail {
namespace {

void fill_api_error(const attempt_result& r, diagnostics& diag)
{
    diag.status = r.status;
    if (r.body.empty()) return;
    diagnostics ignored;
    auto body = parse<api_error_body>(r.body, ignored);
    if (body) {
        diag.api_code = body->code.value_or("");
        diag.api_description = body->description.value_or("");
    }
}

void count_retry(atomic_counters& stats, failure_kind kind)
{
    switch (kind) {
    case failure_kind::connect_failed:
    case failure_kind::stale_connection: stats.retries_connect++; break;
    case failure_kind::throttled: stats.retries_throttled++; break;
    case failure_kind::server_error: stats.retries_server_error++; break;
    default: stats.retries_transport++; break;
    }
}

}  // namespace

/// Lets the pipeline act inside an attempt: checks the gate with a connection leased (and notes that from then
/// on request bytes may leave), signs the credentials, and closes the gate on a 429 (or ends a streak on a 2xx).
struct pipeline::hooks final : attempt_hooks {
    pipeline& p;
    std::string_view app;
    const retry_params& rp;
    rate_gate::ticket& place;     // the call's place in the gate's queue: left once it sends
    bool passed_gate = false;     // the transport went on to send: bytes may reach the server
    bool streak_at_send = false;  // the gate had a 429 streak then (a 2xx may end it)
    clock::time_point sent_at{};
    std::optional<std::chrono::milliseconds> gate_wait;  // a 429 closed the gate for this long

    smooch::rate_source* shared = nullptr;  // client_params::rate_source
    clock::time_point deadline{};
    bool holding_shared = false;  // a unit of the shared budget taken for this attempt
    error_code shared_refused;    // the shared budget refused (past the deadline) or the wait was cancelled

    hooks(pipeline& pl, std::string_view a, const retry_params& r, rate_gate::ticket& t)
        : p(pl), app(a), rp(r), place(t)
    {}

    // Asked with the connection leased and open, right before sending: a unit taken earlier (before a pool
    // wait or a TLS connect) would be spent late, and late units add up to bursts the server refuses.
    boost::asio::awaitable<bool> before_send() override
    {
        if (!shared) co_return true;
        shared_refused = co_await shared->acquire(app, deadline);
        holding_shared = !shared_refused;
        co_return holding_shared;
    }

    std::optional<clock::time_point> may_send() override
    {
        std::lock_guard lk(p.gate_mu_);
        const auto now = p.time_.now();
        auto& gate = p.gate_of(app, now);
        if (gate.closed_until() > now) return gate.closed_until();
        gate.leave(place);  // served: after a 429 it queues again, at the end
        passed_gate = true;
        streak_at_send = gate.streak() > 0;
        sent_at = now;
        return std::nullopt;
    }
    std::string authorization() override { return p.auth_.header(std::chrono::system_clock::now()); }
    void on_response(const attempt_result& r) override
    {
        if (r.status == 429) {
            std::lock_guard lk(p.gate_mu_);
            const auto now = p.time_.now();
            // A 429 pauses every request to this app, not only this one.
            gate_wait = p.gate_of(app, now).on_throttled(now, sent_at, r.retry_after, rp, p.rng_);
        } else if (r.status >= 200 && r.status < 300 && streak_at_send) {
            // Without a streak when this was sent, any streak now began after it: nothing to end.
            std::lock_guard lk(p.gate_mu_);
            p.gate_of(app, p.time_.now()).on_success(sent_at);
        }
    }
};

pipeline::pipeline(const client_params& p, transport& net, atomic_counters& stats, pipeline_clock& time,
                   std::uint32_t seed)
    : params_(p), net_(net), stats_(stats), time_(time), observer_(p.observer.get()), auth_(p.credentials),
      budget_(p.retry.budget_ratio, p.retry.budget_floor, p.retry.budget_window), rng_(seed)
{}

rate_gate& pipeline::gate_of(std::string_view app, clock::time_point now)
{
    return gate_for(gates_, app, now, params_.rate_limit);
}

std::size_t pipeline::gate_count() const
{
    std::lock_guard lk(gate_mu_);
    return gates_.size();
}

void pipeline::report_attempt(const diagnostics& diag, std::string_view app_id, clock::time_point start,
                              const attempt_result& r, const decision& d)
{
    attempt_event e;
    e.operation = diag.operation;
    e.app_id = app_id;
    e.attempt = static_cast<unsigned>(diag.attempts.size());
    e.start = start;
    e.duration = time_.now() - start;
    e.status = r.status;
    e.ec = r.ec;
    e.reused = r.reused;
    switch (d.next) {
    case next_step::succeed: e.next = attempt_decision::succeed; break;
    case next_step::replay: e.next = attempt_decision::replay; break;
    case next_step::retry: e.next = attempt_decision::retry; break;
    case next_step::stop: e.next = attempt_decision::stop; break;
    }
    e.delay = d.next == next_step::retry ? d.delay : std::chrono::milliseconds(0);
    e.stop_reason = d.reason;
    observer_->on_attempt(e);
}

void pipeline::leave_queue(std::string_view app, rate_gate::ticket& place)
{
    if (!place.seq) return;
    std::lock_guard lk(gate_mu_);
    gate_of(app, time_.now()).leave(place);
}

bool pipeline::has_gate(std::string_view app) const
{
    std::lock_guard lk(gate_mu_);
    return gates_.find(app) != gates_.end();
}

boost::asio::awaitable<error_code> pipeline::execute(std::string_view app_id, const outgoing_request& req,
                                                     call_semantics what, const call_options& opts, attempt_result& out,
                                                     diagnostics& diag)
{
    const retry_params& rp = opts.retry ? *opts.retry : params_.retry;
    const auto total = opts.total_timeout.value_or(params_.timeouts.total);
    const auto start = time_.now();
    const auto deadline = total.count() > 0 ? start + total : clock::time_point::max();

    stats_.requests++;
    {
        std::lock_guard lk(gate_mu_);
        budget_.on_request(start);
    }

    retry_state state(rp, what, deadline);
    decision d;                      // how the call ends
    bool holding_admission = false;  // admitted (a client-side token taken) but nothing sent yet
    rate_gate::ticket place;         // its place in the app's gate queue while the gate is closed or ramping
    auto refund = [&] {
        std::lock_guard lk(gate_mu_);
        gate_of(app_id, time_.now()).refund();
        holding_admission = false;
    };
    smooch::rate_source* const shared = params_.rate_source.get();
    try {
        for (;;) {
            // Per-app admission: rate gate closed by a 429 (and its ramp), or the client-side limit.
            std::optional<clock::time_point> admit;
            bool after_429 = false;
            const auto now = time_.now();
            {
                std::lock_guard lk(gate_mu_);
                auto& gate = gate_of(app_id, now);
                admit = gate.admit(now, deadline, rng_, &place);
                after_429 = !admit && gate.throttled(now);
            }
            if (!admit) {
                d = state.on_gate_after_deadline(after_429);
                break;
            }
            holding_admission = true;
            if (*admit > now) {
                stats_.gate_waits++;
                const error_code wec = co_await time_.sleep_until(*admit);
                const auto waited = time_.now() - now;
                stats_.gate_wait_ms +=
                    static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(waited).count());
                if (observer_) observer_->on_gate_wait({diag.operation, app_id, waited, bool(wec)});
                if (wec) {
                    d = state.on_cancelled(wec);
                    break;
                }
                // A 429 closed the gate again while this call waited: back to the queue (same place), rather
                // than leasing a connection only to be turned back.
                bool reclosed;
                {
                    std::lock_guard lk(gate_mu_);
                    reclosed = gate_of(app_id, time_.now()).closed_until() > time_.now();
                }
                if (reclosed) {
                    refund();
                    continue;
                }
            }

            hooks h(*this, app_id, rp, place);
            h.shared = shared;
            h.deadline = deadline;
            const auto attempt_start = time_.now();
            try {
                out = co_await net_.run(req, deadline, h);
            } catch (const boost::system::system_error& e) {
                // Cancellation delivered as an exception: the transport's own record of the attempt is gone with its
                // frame. Bytes may have left once it passed the gate with a leased connection.
                out = attempt_result{};
                out.ec = e.code() ? e.code() : error_code(boost::asio::error::operation_aborted);
                out.connected = out.request_sent = h.passed_gate;
            }
            if (out.request_sent) {
                holding_admission = false;
            } else {
                refund();  // nothing reached the server: the tokens go back
                if (h.holding_shared) shared->refund(app_id);
            }
            if (h.shared_refused) {
                if (h.shared_refused == client_errc::rate_limited) {
                    d = state.on_gate_after_deadline(false);
                    d.message = "the shared rate budget (client_params::rate_source) admits this request only "
                                "after the deadline";
                } else {
                    d = state.on_cancelled(h.shared_refused);
                }
                break;
            }
            if (out.status == 429 && shared) shared->on_throttled(app_id, out.retry_after);
            if (out.gated_until) continue;  // back to the gate; nothing was sent

            if (out.retry_after) diag.retry_after = out.retry_after;  // the server's value, not the capped wait
            if (out.status == 429) stats_.responses_429++;
            const auto f = classify(out);
            diag.attempts.push_back(
                {out.ec ? out.ec : (f == failure_kind::none ? error_code{} : make_http_error(out.status)), out.status,
                 std::chrono::milliseconds(0)});
            diag.message = out.message;
            if (!out.ec && f != failure_kind::none) fill_api_error(out, diag);
            {
                std::lock_guard lk(gate_mu_);
                d = state.on_attempt(out, h.gate_wait, time_.now(), budget_, rng_);
            }
            if (observer_) report_attempt(diag, app_id, attempt_start, out, d);
            if (d.next == next_step::succeed) {
                leave_queue(app_id, place);
                diag.stop_reason = stop_reason::success;
                diag.status = out.status;
                diag.applied = out.status >= 200 && out.status < 300;
                co_return error_code{};
            }
            if (d.next == next_step::replay) {
                stats_.stale_replays++;
                continue;
            }
            if (d.next == next_step::stop) break;
            // next_step::retry
            diag.attempts.back().delay_after = d.delay;
            count_retry(stats_, d.kind);
            if (d.at_gate) continue;  // a 429 closed the gate: the gate does the waiting
            if (const error_code wec = co_await time_.sleep_until(time_.now() + d.delay)) {
                d = state.on_cancelled(wec);
                break;
            }
        }
    } catch (const boost::system::system_error& e) {
        // Asio throws at a co_await (a gate or backoff wait) once the caller has cancelled, instead of waiting.
        d = state.on_cancelled(e.code());
    }
    if (holding_admission) refund();
    leave_queue(app_id, place);
    stats_.failed++;
    diag.stop_reason = d.reason;
    if (!d.message.empty()) diag.message = d.message;
    diag.outcome_unknown = state.outcome_unknown();
    co_return d.ec;
}

}  // namespace smooch::detail

// SPDX-License-Identifier: BSL-1.0
// The dispatcher: the glue between the source, the journal's group commit, the client and the reconciler. Every
// decision comes from core.hpp and reconcile.hpp; this file only waits, calls and records.
//
// A line's way: read -> queued to the journal -> parsed and its intent written there (on the journal's thread, off
// this one) -> intent committed (state sending) -> ready -> posted -> result queued. A line is "outstanding" from
// reading until its final result is queued; at most concurrency + intent_window are, which bounds memory and keeps
// the recovery after a crash small.

#include "dispatch/dispatcher_impl.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <stdexcept>

namespace smooch::dispatch {

using detail::journal_op;
using detail::next_step;
using detail::unix_now_ms;

const char* to_string(line_state s) noexcept
{
    switch (s) {
    case line_state::pending: return "pending";
    case line_state::sending: return "sending";
    case line_state::unknown: return "unknown";
    case line_state::delivered: return "delivered";
    case line_state::failed: return "failed";
    case line_state::rejected: return "rejected";
    }
    return "?";
}

const char* to_string(run_end e) noexcept
{
    switch (e) {
    case run_end::completed: return "completed";
    case run_end::stopped: return "stopped";
    case run_end::aborted: return "aborted";
    }
    return "?";
}

dispatcher::dispatcher(smooch::client& c, dispatch_params p)
{
    if (p.journal.empty()) throw std::invalid_argument("dispatch_params::journal: required");
    if (p.concurrency == 0) throw std::invalid_argument("dispatch_params::concurrency: must be at least 1");
    if (p.max_sends == 0) throw std::invalid_argument("dispatch_params::max_sends: must be at least 1");
    if (p.settle_delay.count() < 0 || p.clock_skew.count() < 0 || p.retry_delay.count() < 0)
        throw std::invalid_argument("dispatch_params: delays must not be negative");
    if (p.intent_window == 0) p.intent_window = std::max<std::size_t>(4096, 8 * p.concurrency);
    impl_ = std::make_unique<impl>(c, std::move(p));
}

dispatcher::~dispatcher() = default;

void dispatcher::stop() { impl_->request_stop(run_end::stopped, "stopped on request: nothing new was started"); }

dispatch_counters dispatcher::counters() const { return impl_->counters.snapshot(); }

boost::asio::awaitable<run_summary> dispatcher::run(source& src) { co_return co_await impl_->run(src); }

// ------------------------------------------------------------------------------------------------------ impl

dispatcher::impl::impl(smooch::client& c, dispatch_params p) : api(c), params(std::move(p)), health(0, 0)
{
    health = detail::health(params.stop_after_auth_failures, params.stop_after_errors);
}

void dispatcher::impl::submit(journal_op op, std::uint64_t tag, detail::group_committer::prepare_fn prepare)
{
    ++submitted;
    committer->submit(std::move(op), tag, std::move(prepare));
}

boost::asio::awaitable<run_summary> dispatcher::impl::run(source& s)
{
    const auto t0 = std::chrono::steady_clock::now();
    src = &s;
    campaign_id = s.campaign_id();
    ex = co_await boost::asio::this_coro::executor;
    wake_room.emplace(ex);
    window = params.concurrency + params.intent_window;
    room_burst = std::max<std::size_t>(1, window / 16);
    wake_idle.emplace(ex);

    detail::journal_open_params jp;
    jp.path = params.journal;
    jp.campaign_id = s.campaign_id();
    jp.campaign_name = s.name();
    jp.total = s.size().value_or(0);
    jp.synchronous = params.synchronous;
    jp.max_pages = params.journal_max_pages;
    journal = std::make_unique<detail::journal>(jp);  // throws dispatch_error: nothing started
    s.rewind();  // line numbers are positions from the start: a reused source must not go on where it stopped
    states = journal->load_states();
    auto unsettled = journal->load_unsettled();
    count([&](live_counters& c) {
        c.total = s.size().value_or(0);
        for (auto st : states) {
            if (st == detail::absent) continue;
            switch (static_cast<line_state>(st)) {
            case line_state::delivered: ++c.delivered; break;
            case line_state::failed: ++c.failed; break;
            case line_state::rejected: ++c.rejected; break;
            default: break;
            }
        }
        c.done_before = c.done() - (params.retry_failed ? c.failed.load() : 0);
    });
    committer = std::make_unique<detail::group_committer>(
        *journal, ex, params.batch_max, params.batch_latency,
        [this](std::vector<detail::committed>& batch, const std::string* error) { on_committed(batch, error); });

    run_summary summary;
    if (!unsettled.empty()) {
        const auto r0 = std::chrono::steady_clock::now();
        summary.recovered = unsettled.size();
        const std::uint64_t reads0 = counters.reconcile_reads;
        co_await recover(std::move(unsettled));
        summary.recovery = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - r0);
        summary.recovery_reads = counters.reconcile_reads - reads0;
        if (params.on_recovered && !stopping)
            params.on_recovered(summary.recovered, summary.recovery, summary.recovery_reads);
    }

    if (!stopping) {
        spawn(read_lines());
        for (std::size_t i = 0; i < params.concurrency; ++i) spawn(send_loop());
    }
    while (live > 0 || acked < submitted) co_await wake_idle->wait();
    committer->close();
    counters.commits = committer->commits();
    summary.journal_cpu = committer->cpu();
    summary.counters = counters.snapshot();
    committer.reset();
    journal.reset();  // releases the run lock
    summary.end = end;
    summary.reason = reason;
    if (end == run_end::completed && summary.counters.total && summary.counters.done() < summary.counters.total) {
        summary.end = run_end::aborted;  // cannot happen unless the source changed under us; never claim success
        summary.reason = "the source ended before every line had ended";
    }
    summary.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    co_return summary;
}

void dispatcher::impl::spawn(boost::asio::awaitable<void> a)
{
    ++live;
    boost::asio::co_spawn(ex, std::move(a), [this](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& err) {
                request_stop(run_end::aborted, err.what());
            }
        }
        --live;
        wake_all();
    });
}

void dispatcher::impl::wake_all()
{
    wake_room->notify();
    senders.wake_all();
    wake_idle->notify();
}

void dispatcher::impl::request_stop(run_end why, std::string text)
{
    if (stopping) return;
    stopping = true;
    end = why;
    reason = std::move(text);
    // Lines whose intent is durable but that were never posted go back to pending: nothing left for them.
    while (!ready.empty()) {
        job* j = ready.front();
        ready.pop_front();
        record_result(*j, line_state::pending);
        finish(*j);
    }
    if (wake_idle) wake_all();
}

// ----------------------------------------------------------------------------------------------- the reader

boost::asio::awaitable<void> dispatcher::impl::read_lines()
{
    std::string text;
    std::uint64_t line = 0;
    while (!stopping) {
        while (!stopping && jobs.size() >= window) co_await wake_room->wait();
        if (stopping) break;
        if (!src->next(text)) break;
        ++line;
        if ((line & 4095) == 0) co_await boost::asio::post(ex, boost::asio::use_awaitable);  // let timers run
        count([](live_counters& c) { ++c.read; });
        const std::uint8_t st = line < states.size() ? states[line] : detail::absent;
        const auto action = detail::resume_action(st, params.retry_failed);
        if (action == detail::on_read::skip) continue;
        auto j = std::make_unique<job>();
        j->text = std::move(text);
        j->p.line = line;
        j->in_journal = action == detail::on_read::send_again;
        if (st == static_cast<std::uint8_t>(line_state::failed)) count([](live_counters& c) { --c.failed; });
        job* ref = j.get();
        jobs.emplace(line, std::move(j));
        journal_op op;
        op.line = line;
        submit(std::move(op), line, [this, ref](journal_op& o) { prepare_line(*ref, o); });
    }
    reader_done = true;
    wake_all();
}

void dispatcher::impl::reject(std::uint64_t line, std::string app, std::string user, std::string why)
{
    journal_op op;
    op.kind = journal_op::result;
    op.line = line;
    op.state = line_state::rejected;
    op.time_ms = unix_now_ms();
    op.app = std::move(app);
    op.user = std::move(user);
    op.description = why;
    submit(std::move(op), 0);
    count([](live_counters& c) { ++c.rejected; });
    if (params.on_line) {
        line_event e;
        e.line = line;
        e.state = line_state::rejected;
        e.description = std::move(why);
        params.on_line(e);
    }
}

namespace {

/// Makes `op` the intent of a parsed job (a new row, or another send of a row the journal holds) and counts it.
void make_intent(job& j, journal_op& op)
{
    op.kind = j.in_journal ? journal_op::intent_again : journal_op::intent_new;
    op.line = j.p.line;
    op.time_ms = unix_now_ms();
    if (!j.in_journal) {
        op.app = j.p.app;
        op.user = j.p.user;
        op.key_derived = j.p.key_derived;
        if (!op.key_derived) op.key = j.p.key;
    }
    j.intent_ms = op.time_ms;
    ++j.sends;
}

}  // namespace

void dispatcher::impl::prepare_line(job& j, journal_op& op) const
{
    // j.text stays: it is freed with the job on the run's thread, which allocated it (no cross-thread free).
    auto parsed = detail::parse_line(j.text, j.p.line, params.default_app, campaign_id);
    if (auto* r = std::get_if<detail::rejection>(&parsed)) {
        op.time_ms = unix_now_ms();
        op.kind = journal_op::result;
        op.state = line_state::rejected;
        op.description = r->description;
        j.invalid = std::move(r->description);
        return;
    }
    j.p = std::move(std::get<detail::prepared_line>(parsed));
    make_intent(j, op);
}

void dispatcher::impl::record_intent(job& j)
{
    journal_op op;
    make_intent(j, op);
    submit(std::move(op), j.p.line);
}

journal_op dispatcher::impl::result_op(const job& j, line_state st, const detail::post_result* r, bool reconciled) const
{
    journal_op op;
    op.kind = journal_op::result;
    op.line = j.p.line;
    op.state = st;
    op.time_ms = unix_now_ms();
    op.reconciled = reconciled;
    if (st == line_state::unknown && j.applied) {
        op.status = r && r->status >= 200 && r->status < 300 ? r->status : 200;  // survives a crash: never resent
        op.description = "the server applied it (2xx) but its answer could not be read";
    } else if (st == line_state::failed && r) {
        op.status = r->status;
        op.api_code = r->api_code;
        op.description = r->api_description.empty() ? r->description : r->api_description;
    } else if (st == line_state::failed) {
        op.description = j.last_error;
        op.api_code = "dispatch_gave_up";
    }
    return op;
}

void dispatcher::impl::record_result(job& j, line_state st, const detail::post_result* r)
{
    submit(result_op(j, st, r, false), 0);
}

void dispatcher::impl::settle(job& j, line_state st, const detail::post_result* r, bool reconciled)
{
    journal_op op = result_op(j, st, r, reconciled);
    if (st == line_state::delivered) op.message_id = std::move(j.message_id);
    count([&](live_counters& c) { ++(st == line_state::delivered ? c.delivered : c.failed); });
    std::optional<line_event> e;
    if (params.on_line) {
        e.emplace();  // the job ends here: its strings move into the event
        e->line = j.p.line;
        e->state = st;
        e->app = std::move(j.p.app);
        e->user = std::move(j.p.user);
        e->key = std::move(j.p.key);
        e->message_id = op.message_id;
        e->reconciled = reconciled;
        e->status = op.status;
        e->api_code = op.api_code;
        e->description = op.description;
    }
    submit(std::move(op), 0);
    if (e) params.on_line(*e);
    finish(j);
}

void dispatcher::impl::finish(job& j)
{
    jobs.erase(j.p.line);  // destroys j
    // The reader refills the window in bursts, not one wake-up per line. (run() waits for coroutines and commits,
    // which notify it themselves.)
    if (jobs.size() + room_burst <= window) wake_room->notify();
    if (reader_done && jobs.empty()) senders.wake_all();  // nothing can become ready any more: they end
}

void dispatcher::impl::on_committed(std::vector<detail::committed>& batch, const std::string* error)
{
    if (error) request_stop(run_end::aborted, *error);
    if (stopping) senders.wake_all();
    for (auto& c : batch) {
        ++acked;
        if (c.tag == 0) continue;  // a result
        auto it = jobs.find(c.tag);
        if (it == jobs.end()) continue;
        job& j = *it->second;
        if (c.failed) {  // the intent is not durable: the post must not go out
            finish(j);
            continue;
        }
        if (j.invalid) {  // parsing rejected the line, and the journal recorded it so
            count([](live_counters& n) { ++n.rejected; });
            if (params.on_line) {
                line_event e;
                e.line = j.p.line;
                e.state = line_state::rejected;
                e.description = std::move(*j.invalid);
                params.on_line(e);
            }
            finish(j);
            continue;
        }
        j.in_journal = true;
        if (!c.outcome.ok) {
            reject(j.p.line, j.p.app, j.p.user,
                   "key: \"" + j.p.key + "\" is already used by line " + std::to_string(c.outcome.conflict_line) +
                       " (keys must be unique within a campaign)");
            jobs.erase(it);
            wake_room->notify();
            continue;
        }
        if (stopping) {
            record_result(j, line_state::pending);
            finish(j);
            continue;
        }
        ready.push_back(&j);
        senders.wake_one();
    }
    wake_room->notify();
    wake_idle->notify();
}

// ---------------------------------------------------------------------------------------------- the senders

boost::asio::awaitable<void> dispatcher::impl::send_loop()
{
    boost::asio::steady_timer idle(ex);
    for (;;) {
        while (ready.empty() && !stopping && !(reader_done && jobs.empty())) {
            // Idle with lines still to read, once posting has begun: the journal is behind the fan-out.
            if (!reader_done && counters.posts) count([](live_counters& c) { ++c.senders_starved; });
            co_await senders.wait(idle);
        }
        if (ready.empty()) co_return;
        job& j = *ready.front();
        ready.pop_front();
        count([](live_counters& c) {
            ++c.posts;
            ++c.in_flight;
        });
        const auto r = co_await detail::post_message(api, j.p.app, j.p.user, *j.p.body);
        count([](live_counters& c) { --c.in_flight; });
        const auto a = detail::assess(r);
        if (a.verdict == detail::post_verdict::delivered || a.verdict == detail::post_verdict::applied)
            health.on_success();
        if (a.auth_failure) health.on_auth_failure(r.description);
        if (a.server_trouble) health.on_server_trouble(r.description);
        if (r.ec) j.last_error = r.description;
        switch (detail::after_post(a.verdict, j.sends, params.max_sends)) {
        case next_step::finish_delivered:
            j.message_id = r.message_id.value_or("");
            settle(j, line_state::delivered);
            break;
        case next_step::finish_failed: settle(j, line_state::failed, &r); break;
        case next_step::finish_rejected: {
            const std::uint64_t line = j.p.line;
            std::string app = j.p.app, user = j.p.user;
            jobs.erase(line);
            reject(line, std::move(app), std::move(user), r.description);
            wake_room->notify();
            break;
        }
        case next_step::reconcile:
            j.applied = a.verdict == detail::post_verdict::applied;
            record_result(j, line_state::unknown, &r);
            count([](live_counters& c) { ++c.unknown; });
            enqueue_check(j);
            break;
        case next_step::send_again: spawn(retry_later(j)); break;
        case next_step::give_up:
            j.last_error = "gave up after " + std::to_string(j.sends) +
                           " posts without a definitive answer; last: " + j.last_error;
            settle(j, line_state::failed);
            break;
        }
        if (health.stop_reason()) request_stop(run_end::aborted, *health.stop_reason());
    }
}

boost::asio::awaitable<void> dispatcher::impl::retry_later(job& j)
{
    count([](live_counters& c) { ++c.retries; });
    boost::asio::steady_timer t(ex, params.retry_delay);
    co_await t.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (stopping) {  // definitely not applied: back to pending for the next run
        record_result(j, line_state::pending);
        finish(j);
        co_return;
    }
    record_intent(j);
}

}  // namespace smooch::dispatch

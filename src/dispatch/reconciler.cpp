// SPDX-License-Identifier: BSL-1.0
// Reading back: after an unknown outcome (or on a crashed run's journal) wait the settle delay, then read the user's
// conversation from shortly before the oldest intent forward and look for the keys. Found: delivered, with its `_id`.
// Not found: the post was not stored, and the line is sent again (the journal records both decisions). Reads go
// through the same client, so the same per-app gate and rate limit pace them.

#include "dispatch/dispatcher_impl.hpp"

#include <boost/asio/co_spawn.hpp>

namespace smooch::dispatch {

using detail::journal_op;
using detail::next_step;
using detail::unix_now_ms;

boost::asio::awaitable<bool> dispatcher::impl::walk(const std::string& app, const std::string& user,
                                                    detail::reconcile_walk& w)
{
    while (!w.done()) {
        auto r = co_await detail::read_page_after(api, app, user, w.cursor());
        count([](live_counters& c) { ++c.reconcile_reads; });
        if (r.ec && r.status == 404) {  // no conversation: nothing was stored there
            w.on_no_conversation();
            break;
        }
        if (r.ec) {
            if (r.status == 401 || r.status == 403) health.on_auth_failure(r.description);
            else health.on_server_trouble(r.description);
            if (health.stop_reason()) request_stop(run_end::aborted, *health.stop_reason());
            co_return false;
        }
        health.on_success();
        w.on_page(r.messages, r.has_next);
    }
    co_return true;
}

void dispatcher::impl::enqueue_check(job& j)
{
    j.check_at = std::chrono::steady_clock::now() + params.settle_delay;
    auto who = std::make_pair(j.p.app, j.p.user);
    auto& u = checks[who];
    u.waiting.push_back(&j);
    if (u.walking) return;
    u.walking = true;
    spawn(check_user(std::move(who)));
}

boost::asio::awaitable<void> dispatcher::impl::check_user(std::pair<std::string, std::string> who)
{
    boost::asio::steady_timer t(ex);
    auto& u = checks[who];  // stays valid: only this coroutine erases it
    for (;;) {
        if (u.waiting.empty()) {
            checks.erase(who);
            co_return;
        }
        if (u.waiting.front()->check_at > std::chrono::steady_clock::now()) {
            t.expires_at(u.waiting.front()->check_at);
            co_await t.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        }
        // Coalesce: one walk for every line of this user whose settle delay is over.
        const auto now = std::chrono::steady_clock::now();
        std::vector<job*> batch;
        std::vector<detail::check> wanted;
        while (!u.waiting.empty() && u.waiting.front()->check_at <= now) {
            job* j = u.waiting.front();
            u.waiting.pop_front();
            batch.push_back(j);
            wanted.push_back({j->p.line, j->p.key, j->intent_ms});
        }
        detail::reconcile_walk w(wanted, params.clock_skew);
        const bool ok = co_await walk(who.first, who.second, w);
        for (job* j : batch) {
            if (!ok) {
                if (stopping) {  // left unknown in the journal: the next run reads back
                    count([](live_counters& c) { --c.unknown; });
                    finish(*j);
                } else {
                    j->check_at = std::chrono::steady_clock::now() + params.settle_delay;
                    u.waiting.push_back(j);
                }
                continue;
            }
            const auto f = w.found().find(j->p.line);
            const bool found = f != w.found().end();
            if (found) j->message_id = f->second;
            count([&](live_counters& c) {
                --c.unknown;
                ++(found ? c.reconciled_found : c.reconciled_absent);
            });
            switch (detail::after_check(found, j->applied, j->sends, params.max_sends)) {
            case next_step::send_again:
                if (stopping) {
                    record_result(*j, line_state::pending);
                    finish(*j);
                } else {
                    count([](live_counters& c) { ++c.resends; });
                    record_result(*j, line_state::pending);  // the decision: not stored, safe to send again
                    record_intent(*j);
                }
                break;
            case next_step::give_up:
                j->last_error = "gave up after " + std::to_string(j->sends) +
                                " posts: reading back showed none stored; last: " + j->last_error;
                settle(*j, line_state::failed);
                break;
            default: settle(*j, line_state::delivered, nullptr, true); break;
            }
        }
    }
}

boost::asio::awaitable<void> dispatcher::impl::recover(std::vector<detail::unsettled_line> lines)
{
    // The crashed run sent these (or may have) before it died, so before we started: one settle delay from now
    // covers a post the server was still applying.
    boost::asio::steady_timer t(ex, params.settle_delay);
    co_await t.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));

    std::map<std::pair<std::string, std::string>, std::vector<detail::unsettled_line>> by_user;
    for (auto& l : lines) by_user[{l.app, l.user}].push_back(std::move(l));
    std::deque<std::vector<detail::unsettled_line>*> todo;
    for (auto& [who, v] : by_user) todo.push_back(&v);

    auto worker = [this, &todo]() -> boost::asio::awaitable<void> {
        while (!todo.empty() && !stopping) {
            auto& group = *todo.front();
            todo.pop_front();
            std::vector<detail::check> wanted;
            for (const auto& l : group) wanted.push_back({l.line, l.key, l.intent_ms});
            detail::reconcile_walk w(wanted, params.clock_skew);
            if (!co_await walk(group.front().app, group.front().user, w)) {
                if (!stopping) todo.push_back(&group);  // the server may be back after a while
                if (!stopping) {
                    boost::asio::steady_timer pause(ex, params.settle_delay);
                    co_await pause.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
                }
                continue;
            }
            for (const auto& l : group) {
                const auto f = w.found().find(l.line);
                journal_op op;
                op.kind = journal_op::result;
                op.line = l.line;
                op.time_ms = unix_now_ms();
                if (f != w.found().end()) {
                    op.state = line_state::delivered;
                    op.message_id = f->second;
                    op.reconciled = true;
                } else if (l.applied) {
                    op.state = line_state::delivered;  // the server said 2xx: never sent again, id unknown
                } else {
                    op.state = line_state::pending;  // not stored: the reader sends it again
                }
                if (l.line >= states.size()) states.resize(l.line + 1, detail::absent);
                states[l.line] = static_cast<std::uint8_t>(op.state);
                count([&](live_counters& c) {
                    ++(op.state == line_state::delivered ? c.reconciled_found : c.reconciled_absent);
                    if (op.state == line_state::delivered) ++c.delivered;
                });
                if (op.state == line_state::delivered && params.on_line) {
                    line_event e;
                    e.line = l.line;
                    e.state = line_state::delivered;
                    e.app = l.app;
                    e.user = l.user;
                    e.key = l.key;
                    e.message_id = op.message_id;
                    e.reconciled = true;
                    params.on_line(e);
                }
                submit(std::move(op), 0);
            }
        }
    };
    const std::size_t n = std::min(params.concurrency, todo.size());
    for (std::size_t i = 0; i < n; ++i) spawn(worker());
    while (live > 0 || acked < submitted) co_await wake_idle->wait();
    if (stopping) co_return;
    // Lines still unsettled (the run is stopping) keep their journal state; the others are now delivered/pending.
}

}  // namespace smooch::dispatch

// SPDX-License-Identifier: BSL-1.0
// smooch::dispatch over the client against an in-process smooch-mock over TLS on loopback: delivery exactly once,
// reading back after unknown outcomes, recovery of a crashed run's journal, early stop on a failing configuration,
// stop and resume, and every bad journal refused with a clear error.
#define BOOST_TEST_MODULE dispatch
#include <boost/test/unit_test.hpp>

#include "fixture.hpp"
#include "support.hpp"

#include "dispatch/campaign.hpp"
#include "dispatch/journal.hpp"

#include <smooch/dispatch.hpp>

#include <sys/stat.h>

#include <fstream>

using namespace smooch;
using namespace smooch::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace sd = smooch::dispatch;

namespace {

sd::dispatch_params params_for(const std::string& journal)
{
    sd::dispatch_params p;
    p.journal = journal;
    p.default_app = "app_1";
    p.concurrency = 16;
    p.settle_delay = 50ms;
    p.clock_skew = 5s;
    p.retry_delay = 10ms;
    return p;
}

/// Runs one dispatcher over `src` on env's io and returns its summary.
sd::run_summary run_once(mock_env& env, client& c, sd::dispatch_params p, sd::source& src,
                         std::function<void(sd::dispatcher&)> during = {})
{
    sd::dispatcher d{c, std::move(p)};
    std::optional<sd::run_summary> s;
    env.run([&]() -> asio::awaitable<void> {
        if (during) during(d);
        s = co_await d.run(src);
    });
    BOOST_REQUIRE(s);
    return *s;
}

std::string run_error(mock_env& env, client& c, sd::dispatch_params p, sd::source& src)
{
    std::string what = "(no error)";
    try {
        run_once(env, c, std::move(p), src);
    } catch (const sd::dispatch_error& e) {
        what = e.what();
    }
    return what;
}

/// Runs again on the same journal; it must complete, and the record and the journal must agree line by line.
sd::run_summary resume_to_the_end(mock_env& env, client& c, const temp_dir& dir, sd::source& src, std::size_t lines,
                                  std::size_t users)
{
    const auto s = run_once(env, c, params_for(dir.file("j.db")), src);
    BOOST_TEST((s.end == sd::run_end::completed));
    BOOST_TEST(check_exactly_once(env.server->record(), dir.file("j.db"), lines, users) == 0u);
    return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_line_is_delivered_once_and_the_journal_agrees)
{
    mock_env env;
    temp_dir dir;
    auto c = env.make_client();
    const auto lines = make_campaign(300, 10);
    auto src = sd::range_source("campaign-a", lines);
    std::size_t events = 0;
    auto p = params_for(dir.file("j.db"));
    p.on_line = [&](const sd::line_event& e) {
        // Each event names its line's app, user and key (moved out of the finished line, never left empty).
        if (e.state == sd::line_state::delivered && e.message_id.size() == 24 && e.app == "app_1" &&
            e.user == lines.at(e.line - 1).user && e.key == sd::detail::default_key("campaign-a", e.line))
            ++events;
    };
    const auto s = run_once(env, *c, p, *src);
    BOOST_TEST((s.end == sd::run_end::completed));
    BOOST_TEST(s.counters.delivered == 300u);
    BOOST_TEST(s.counters.posts == 300u);
    BOOST_TEST(s.counters.reconcile_reads == 0u);
    BOOST_TEST(s.counters.commits > 0u);
    BOOST_TEST(s.journal_cpu.count() > 0);         // the journal's thread's cost is reported
    BOOST_TEST(s.counters.senders_starved == 0u);  // the default window holds the whole campaign ahead
    BOOST_TEST(events == 300u);
    BOOST_TEST(check_exactly_once(env.server->record(), dir.file("j.db"), 300, 10) == 0u);

    // Again with the same journal: nothing is sent again.
    const auto again = run_once(env, *c, params_for(dir.file("j.db")), *src);
    BOOST_TEST((again.end == sd::run_end::completed));
    BOOST_TEST(again.counters.posts == 0u);
    BOOST_TEST(again.counters.done_before == 300u);
    BOOST_TEST(env.server->record().operation_count("post_message") == 300u);

    const auto st = sd::read_journal_status(dir.file("j.db"));
    BOOST_TEST(st.delivered == 300u);
    BOOST_TEST(st.total == 300u);
    BOOST_TEST(!st.running);
}

BOOST_AUTO_TEST_CASE(a_window_too_small_for_the_journal_shows_as_starved_senders)
{
    // One sender, one line ahead (two outstanding): the lines read when two lines end are durable a batch
    // (100 ms) later, while the two posts take a fraction of that: the sender waits once per batch of two.
    mock_env env;
    temp_dir dir;
    auto c = env.make_client();
    const auto lines = make_campaign(24, 4);
    auto src = sd::range_source("campaign-w", lines);
    auto p = params_for(dir.file("j.db"));
    p.concurrency = 1;
    p.intent_window = 1;
    p.batch_latency = 100ms;
    const auto s = run_once(env, *c, p, *src);
    BOOST_TEST((s.end == sd::run_end::completed));
    BOOST_TEST(s.counters.delivered == 24u);
    BOOST_TEST(s.counters.senders_starved >= 6u);  // about 11: one per batch until the source is read to its end
    BOOST_TEST(check_exactly_once(env.server->record(), dir.file("j.db"), 24, 4) == 0u);
}

BOOST_AUTO_TEST_CASE(reading_back_finds_an_applied_post_and_sends_again_one_that_was_not)
{
    mock_env env;
    env.mock_params.faults.push_back(mock::parse_fault("reset,apply,count=1,route=post_message,user=u1"));
    env.mock_params.faults.push_back(mock::parse_fault("reset,count=1,route=post_message,user=u2"));
    // A 201 whose body does not parse: applied; reading back finds its id, and it is never sent again.
    env.mock_params.faults.push_back(mock::parse_fault("malformed,apply,count=1,route=post_message,user=u3"));
    temp_dir dir;
    auto c = env.make_client();
    const auto lines = make_campaign(40, 4);
    auto src = sd::range_source("campaign-b", lines);
    const auto s = run_once(env, *c, params_for(dir.file("j.db")), *src);
    BOOST_TEST((s.end == sd::run_end::completed));
    BOOST_TEST(s.counters.delivered == 40u);
    BOOST_TEST(s.counters.reconciled_found == 2u);   // u1's post: applied, then the connection was reset; u3's
    BOOST_TEST(s.counters.reconciled_absent == 1u);  // u2's post: reset before it was applied
    BOOST_TEST(s.counters.resends == 1u);
    BOOST_TEST(s.counters.posts == 41u);
    const auto rec = env.server->record();
    BOOST_TEST(rec.fault_count(mock::fault_action::reset) == 2u);
    BOOST_TEST(rec.fault_count(mock::fault_action::malformed) == 1u);
    BOOST_TEST(check_exactly_once(rec, dir.file("j.db"), 40, 4) == 0u);
    const auto rows = read_journal(dir.file("j.db"));
    std::size_t reconciled = 0, sent_twice = 0;
    for (const auto& [line, r] : rows) {
        reconciled += r.reconciled;
        sent_twice += r.sends == 2;
    }
    BOOST_TEST(reconciled == 2u);
    BOOST_TEST(sent_twice == 1u);
}

BOOST_AUTO_TEST_CASE(a_crashed_run_is_settled_with_one_read_per_user)
{
    // A journal as a run killed mid-flight leaves it: 20 lines recorded as sending (5 users), of which the first
    // 10 really reached the server.
    mock_env env;
    temp_dir dir;
    auto c = env.make_client();
    const auto lines = make_campaign(60, 5);
    auto src = sd::range_source("campaign-c", lines);
    const auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    {
        sd::detail::journal j({dir.file("j.db"), "campaign-c", src->name(), 60});
        std::vector<sd::detail::journal_op> ops;
        std::vector<sd::detail::op_outcome> out;
        for (std::uint64_t i = 1; i <= 20; ++i) {
            const auto p = std::get<sd::detail::prepared_line>(
                sd::detail::parse_line(sd::to_json_line(lines[i - 1]), i, "app_1", "campaign-c"));
            ops.push_back(
                {sd::detail::journal_op::intent_new, i, sd::line_state::sending, now_ms, p.app, p.user, p.key});
        }
        j.apply(ops, out);
    }
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        for (std::uint64_t i = 1; i <= 10; ++i) {
            const auto p = std::get<sd::detail::prepared_line>(
                sd::detail::parse_line(sd::to_json_line(lines[i - 1]), i, "app_1", "campaign-c"));
            co_await api.post_message(p.app, p.user, *p.body);
        }
    });
    const auto s = run_once(env, *c, params_for(dir.file("j.db")), *src);
    BOOST_TEST((s.end == sd::run_end::completed));
    BOOST_TEST(s.recovered == 20u);
    BOOST_TEST(s.recovery_reads == 5u);    // one per user: each conversation fits one page
    BOOST_TEST(s.recovery.count() >= 50);  // the settle delay came first
    BOOST_TEST(s.counters.reconciled_found == 10u);
    BOOST_TEST(s.counters.reconciled_absent == 10u);
    BOOST_TEST(s.counters.posts == 50u);  // the 10 not stored and the 40 never reached
    BOOST_TEST(check_exactly_once(env.server->record(), dir.file("j.db"), 60, 5) == 0u);
}

BOOST_AUTO_TEST_CASE(a_wrong_key_stops_the_campaign_early_and_retry_failed_finishes_it)
{
    mock_env env;
    temp_dir dir;
    auto bad = env.make_client([](client_params& p) { p.credentials = basic_auth{"act_key", "wrong"}; });
    auto good = env.make_client();
    const auto lines = make_campaign(500, 10);
    auto src = sd::range_source("campaign-d", lines);
    auto p = params_for(dir.file("j.db"));
    p.concurrency = 4;
    p.stop_after_auth_failures = 5;
    const auto s = run_once(env, *bad, p, *src);
    BOOST_TEST((s.end == sd::run_end::aborted));
    BOOST_TEST(s.reason.find("401") != std::string::npos);
    BOOST_TEST(s.reason.find("--retry-failed") != std::string::npos);
    BOOST_TEST(s.counters.failed >= 5u);
    BOOST_TEST(s.counters.failed <= 5u + 4u + 8u);  // the streak, plus what was in flight or intended
    BOOST_TEST(env.server->record().operation_count("post_message") == 0u);

    // Fixed key, no --retry-failed: the rest is delivered, the failed lines stay failed.
    const auto s2 = run_once(env, *good, params_for(dir.file("j.db")), *src);
    BOOST_TEST((s2.end == sd::run_end::completed));
    BOOST_TEST(s2.counters.failed == s.counters.failed);
    BOOST_TEST(s2.counters.delivered == 500u - s.counters.failed);

    auto p3 = params_for(dir.file("j.db"));
    p3.retry_failed = true;
    const auto s3 = run_once(env, *good, p3, *src);
    BOOST_TEST((s3.end == sd::run_end::completed));
    BOOST_TEST(s3.counters.failed == 0u);
    BOOST_TEST(s3.counters.posts == s.counters.failed);
    BOOST_TEST(check_exactly_once(env.server->record(), dir.file("j.db"), 500, 10) == 0u);
}

BOOST_AUTO_TEST_CASE(stop_settles_what_is_in_flight_and_a_later_run_resumes)
{
    mock_env env;
    env.mock_params.faults.push_back(mock::parse_fault("reset,apply,probability=0.05,route=post_message"));
    temp_dir dir;
    auto c = env.make_client();
    const auto lines = make_campaign(1000, 20);
    auto src = sd::range_source("campaign-e", lines);
    auto p = params_for(dir.file("j.db"));
    sd::dispatcher* running = nullptr;
    std::size_t delivered = 0;
    p.on_line = [&](const sd::line_event&) {
        if (++delivered == 200) running->stop();
    };
    const auto s = run_once(env, *c, p, *src, [&](sd::dispatcher& d) { running = &d; });
    BOOST_TEST((s.end == sd::run_end::stopped));
    BOOST_TEST(s.counters.delivered < 1000u);
    BOOST_TEST(s.counters.unknown == 0u);
    // Settled: nothing is left possibly sent.
    const auto st = sd::read_journal_status(dir.file("j.db"));
    BOOST_TEST(st.sending == 0u);
    BOOST_TEST(st.unknown == 0u);
    BOOST_TEST(st.delivered == s.counters.delivered);

    BOOST_TEST(resume_to_the_end(env, *c, dir, *src, 1000, 20).recovered == 0u);
}

BOOST_AUTO_TEST_CASE(a_full_disk_stops_the_run_and_nothing_is_lost)
{
    mock_env env;
    temp_dir dir;
    auto c = env.make_client();
    const auto lines = make_campaign(3000, 30);
    auto src = sd::range_source("campaign-f", lines);
    auto p = params_for(dir.file("j.db"));
    p.journal_max_pages = 40;  // 160 KiB: full after some hundreds of lines
    const auto s = run_once(env, *c, p, *src);
    BOOST_TEST((s.end == sd::run_end::aborted));
    BOOST_TEST(s.reason.find("disk is full") != std::string::npos);
    BOOST_TEST(s.reason.find("run again to resume") != std::string::npos);
    const auto stored = env.server->record().operation_count("post_message");
    BOOST_TEST(stored > 0u);
    BOOST_TEST(stored < 3000u);

    resume_to_the_end(env, *c, dir, *src, 3000, 30);
}

BOOST_AUTO_TEST_CASE(bad_journals_are_refused_with_a_clear_error)
{
    mock_env env;
    temp_dir dir;
    auto c = env.make_client();
    const auto a = make_campaign(10, 2);
    auto src_a = sd::range_source("campaign-aaaa", a);
    auto src_b = sd::range_source("campaign-bbbb", a);
    BOOST_TEST((run_once(env, *c, params_for(dir.file("j.db")), *src_a).end == sd::run_end::completed));

    const auto other = run_error(env, *c, params_for(dir.file("j.db")), *src_b);
    BOOST_TEST(other.find("belongs to another campaign") != std::string::npos, other);

    {
        sd::detail::journal held({dir.file("j.db"), "campaign-aaaa", "a", 10});  // another run holds it
        const auto busy = run_error(env, *c, params_for(dir.file("j.db")), *src_a);
        BOOST_TEST(busy.find("in use by another run (pid ") != std::string::npos, busy);
        BOOST_TEST(sd::read_journal_status(dir.file("j.db")).running);
    }

    ::chmod(dir.file("j.db").c_str(), 0444);
    const auto ro = run_error(env, *c, params_for(dir.file("j.db")), *src_a);
    BOOST_TEST(ro.find("read-only") != std::string::npos, ro);

    std::ofstream(dir.file("notes.txt")) << "not a database, just text that is long enough to have a header\n";
    const auto nodb = run_error(env, *c, params_for(dir.file("notes.txt")), *src_a);
    BOOST_TEST(nodb.find("not a dispatch journal") != std::string::npos, nodb);
    BOOST_CHECK_THROW(sd::read_journal_status(dir.file("missing.db")), sd::dispatch_error);

    BOOST_CHECK_THROW(sd::open_campaign_file(dir.file("missing.jsonl")), sd::dispatch_error);
    BOOST_TEST(env.server->record().operation_count("post_message") == 10u);  // nothing sent by refused runs
}

BOOST_AUTO_TEST_CASE(a_duplicate_key_and_bad_lines_are_rejected_and_the_rest_continue)
{
    mock_env env;
    temp_dir dir;
    auto c = env.make_client();
    std::vector<std::string> text = {
        R"({"user":"u1","key":"same","message":{"role":"appMaker","type":"text","text":"a"}})",
        R"({"user":"u1","key":"same","message":{"role":"appMaker","type":"text","text":"b"}})",
        R"({"user":"u1","message":{"role":"appMaker","type":"text","text":"c","metadata":{"dispatchKey":"x"}}})",
        R"(not json)",
        R"({"user":"u2","message":{"role":"appMaker","type":"text","text":"d"}})",
    };
    auto src = sd::range_source("campaign-g", text);
    std::map<std::uint64_t, std::string> rejected;
    auto p = params_for(dir.file("j.db"));
    p.on_line = [&](const sd::line_event& e) {
        if (e.state == sd::line_state::rejected) rejected[e.line] = e.description;
    };
    const auto s = run_once(env, *c, p, *src);
    BOOST_TEST((s.end == sd::run_end::completed));
    BOOST_TEST(s.counters.delivered == 2u);
    BOOST_TEST(s.counters.rejected == 3u);
    BOOST_TEST(rejected[2].find("already used by line 1") != std::string::npos, rejected[2]);
    BOOST_TEST(rejected[3].find("reserved") != std::string::npos);
    BOOST_TEST(rejected[4].find("not valid JSON") != std::string::npos);

    std::ostringstream failures;
    BOOST_TEST(sd::write_failures(dir.file("j.db"), *src, failures) == 3u);
    const auto f = failures.str();
    BOOST_TEST(f.find(R"("line":2)") != std::string::npos);
    BOOST_TEST(f.find(R"("text":"not json")") != std::string::npos);
    BOOST_TEST(f.find(R"("text":"b")") != std::string::npos);  // the original line, to fix and feed back
}

BOOST_AUTO_TEST_CASE(a_campaign_file_edited_during_the_run_is_caught)
{
    mock_env env;
    temp_dir dir;
    auto c = env.make_client();
    write_campaign_file(dir.file("c.jsonl"), 20, 4);
    auto src = sd::open_campaign_file(dir.file("c.jsonl"));
    BOOST_TEST(src->size().value() == 20u);
    write_campaign_file(dir.file("c.jsonl"), 21, 4);  // edited after it was hashed
    const auto s = run_once(env, *c, params_for(dir.file("j.db")), *src);
    BOOST_TEST((s.end == sd::run_end::aborted));
    BOOST_TEST(s.reason.find("changed while it was being dispatched") != std::string::npos, s.reason);
}

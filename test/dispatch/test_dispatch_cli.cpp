// SPDX-License-Identifier: BSL-1.0
// smooch-dispatch as a user runs it: help, usage errors, bad campaign files, --failures, two runs on one journal,
// status during a run, Ctrl-C, and a server that never answers. Each bad input must give a clear error and lose
// nothing.
#define BOOST_TEST_MODULE dispatch_cli
#include <boost/test/unit_test.hpp>

#include "process.hpp"
#include "support.hpp"
#include "text.hpp"

#include <smooch/mock/server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <fstream>
#include <thread>

using namespace smooch;
using namespace smooch::test;
using namespace std::chrono_literals;

namespace {

const std::string exe = SMOOCH_DISPATCH_EXE;

std::vector<std::string> run_args(const dispatch_mock& m, const temp_dir& dir, const std::string& campaign,
                                  std::vector<std::string> more = {})
{
    more.insert(more.begin(), {"--settle", "50"});
    return m.run_args(exe, dir.file(campaign), dir.file("j.db"), more);
}

}  // namespace

BOOST_AUTO_TEST_CASE(help_version_and_usage_errors)
{
    temp_dir dir;
    auto [rc, out] = run_program({exe, "--help"}, dir.file("o"));
    BOOST_TEST(rc == 0);
    BOOST_TEST(out.find("smooch-dispatch run CAMPAIGN.jsonl --journal FILE --url URL") != std::string::npos);
    const auto wide = smooch::test::lines_wider_than(out);  // fits an 80-column terminal
    BOOST_TEST(wide.empty(), smooch::test::first_of(wide));
    std::tie(rc, out) = run_program({exe, "--version"}, dir.file("o"));
    BOOST_TEST(rc == 0);
    BOOST_TEST(out.starts_with("smooch-dispatch "));
    std::tie(rc, out) =
        run_program({exe, "run", "c.jsonl", "--journal", "j", "--url", "https://x", "--bogus"}, dir.file("o"));
    BOOST_TEST(rc == 2);
    BOOST_TEST(out.find("unknown option --bogus") != std::string::npos, out);
    std::tie(rc, out) =
        run_program({exe, "run", "c.jsonl", "--journal", "j", "--key-id", "k", "--secret", "s"}, dir.file("o"));
    BOOST_TEST(rc == 2);
    BOOST_TEST(out.find("--url is required (or --dry-run") != std::string::npos, out);
    std::tie(rc, out) = run_program({exe, "run", "c.jsonl", "--journal", "j", "--url", "https://x"}, dir.file("o"));
    BOOST_TEST(rc == 2);
    BOOST_TEST(out.find("credentials are required") != std::string::npos, out);
    std::tie(rc, out) =
        run_program({exe, "run", "c.jsonl", "--journal", "j", "--dry-run", "--concurrency", "0"}, dir.file("o"));
    BOOST_TEST(rc == 2);
    BOOST_TEST(out.find("--concurrency: expected a number from 1") != std::string::npos, out);
    std::tie(rc, out) =
        run_program({exe, "run", "c.jsonl", "--journal", "j", "--dry-run", "--commit-every", "2s"}, dir.file("o"));
    BOOST_TEST(rc == 2);
    BOOST_TEST(out.find("--commit-every: expected a number from 0 to 10000, got \"2s\"") != std::string::npos, out);
    std::tie(rc, out) = run_program({exe, "status"}, dir.file("o"));
    BOOST_TEST(rc == 2);
    BOOST_TEST(out.find("--journal FILE is required") != std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(missing_campaign_and_missing_journal_are_clear_errors)
{
    temp_dir dir;
    auto [rc, out] =
        run_program({exe, "run", dir.file("nope.jsonl"), "--journal", dir.file("j.db"), "--dry-run"}, dir.file("o"));
    BOOST_TEST(rc == 1);
    BOOST_TEST(out.find("cannot open campaign file " + dir.file("nope.jsonl") + ": No such file or directory") !=
                   std::string::npos,
               out);
    // Unreadable: a directory opens, but reading it fails.
    std::tie(rc, out) =
        run_program({exe, "run", dir.path.string(), "--journal", dir.file("j.db"), "--dry-run"}, dir.file("o"));
    BOOST_TEST(rc == 1);
    BOOST_TEST(out.find("cannot read campaign file " + dir.path.string() + ": Is a directory") != std::string::npos,
               out);
    std::tie(rc, out) = run_program({exe, "status", "--journal", dir.file("nope.db")}, dir.file("o"));
    BOOST_TEST(rc == 1);
    BOOST_TEST(out.find("no journal at") != std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(a_malformed_line_is_reported_with_its_number_and_the_rest_continue)
{
    temp_dir dir;
    dispatch_mock m({}, dir);
    {
        std::ofstream f(dir.file("c.jsonl"));
        f << R"({"user":"u1","message":{"role":"appMaker","type":"text","text":"line 1"}})" << '\n'
          << R"({"user":"u1","message":{"role":"appMaker","type":"text","text":)" << '\n'  // cut short
          << R"({"user":"u2","message":{"role":"appMaker","type":"text","text":"line 3"}})" << '\n';
    }
    auto [rc, out] = run_program(
        run_args(m, dir, "c.jsonl", {"--failures", dir.file("failed.jsonl"), "--json", "--commit-every", "0"}),
        dir.file("o"));
    BOOST_TEST(rc == 0, out);
    BOOST_TEST(out.find(R"("delivered":2)") != std::string::npos, out);
    BOOST_TEST(out.find(R"("journal_cpu_ms":)") != std::string::npos, out);  // what the journal cost
    BOOST_TEST(out.find(R"("rejected":1)") != std::string::npos, out);
    const auto failed = read_file(dir.file("failed.jsonl"));
    BOOST_TEST(failed.find(R"("line":2,"state":"rejected","description":"not valid JSON)") != std::string::npos,
               failed);
    BOOST_TEST(m.server->record().operation_count("post_message") == 2u);

    // The journal belongs to this campaign: another file is refused before anything is sent.
    write_campaign_file(dir.file("other.jsonl"), 3, 10);
    std::tie(rc, out) = run_program(run_args(m, dir, "other.jsonl"), dir.file("o"));
    BOOST_TEST(rc == 1);
    BOOST_TEST(out.find("belongs to another campaign") != std::string::npos, out);
    BOOST_TEST(m.server->record().operation_count("post_message") == 2u);
}

BOOST_AUTO_TEST_CASE(a_journal_that_holds_the_senders_back_is_pointed_out)
{
    temp_dir dir;
    dispatch_mock m({}, dir);
    write_campaign_file(dir.file("c.jsonl"), 120, 10);
    // Four senders, one line ahead: each line's intent becomes durable a batch (20 ms) after it is read, which
    // is when an earlier line ended; the senders wait for it again and again (the hint needs 2 waits in 120).
    auto [rc, out] =
        run_program(run_args(m, dir, "c.jsonl", {"--concurrency", "4", "--intent-window", "1", "--commit-every", "20"}),
                    dir.file("o"));
    BOOST_TEST(rc == 0, out);
    BOOST_TEST(out.find("120 ended of 120") != std::string::npos, out);
    BOOST_TEST(out.find("the senders waited for it") != std::string::npos, out);
    BOOST_TEST(out.find("raise --intent-window") != std::string::npos, out);

    // The default window keeps ahead of the senders: no such line.
    write_campaign_file(dir.file("d.jsonl"), 120, 10);
    std::tie(rc, out) =
        run_program(m.run_args(exe, dir.file("d.jsonl"), dir.file("d.db"), {"--settle", "50"}), dir.file("o"));
    BOOST_TEST(rc == 0, out);
    BOOST_TEST(out.find("120 ended of 120") != std::string::npos, out);
    BOOST_TEST(out.find("the senders waited") == std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(a_second_run_on_a_journal_in_use_refuses_and_status_reads_it_meanwhile)
{
    temp_dir dir;
    mock::server_params p;
    p.faults.push_back(mock::parse_fault("delay=400,route=post_message"));  // keeps the first run busy
    dispatch_mock m(p, dir);
    write_campaign_file(dir.file("c.jsonl"), 40, 10);
    const child first = spawn_program(run_args(m, dir, "c.jsonl", {"--concurrency", "4"}), dir.file("first.out"));
    // Until the first run holds the journal (its lock file carries its pid).
    for (int i = 0; i < 500 && read_file(dir.file("j.db.lock")) != std::to_string(first.pid); ++i)
        std::this_thread::sleep_for(10ms);
    auto [rc, out] = run_program(run_args(m, dir, "c.jsonl"), dir.file("second.out"));
    BOOST_TEST(rc == 1);
    BOOST_TEST(out.find("is in use by another run (pid " + std::to_string(first.pid) + ")") != std::string::npos, out);
    std::tie(rc, out) = run_program({exe, "status", "--journal", dir.file("j.db")}, dir.file("status.out"));
    BOOST_TEST(rc == 0);
    BOOST_TEST(out.find("in progress (pid " + std::to_string(first.pid) + ")") != std::string::npos, out);
    const auto st = wait_for(first, 60s);
    BOOST_REQUIRE(st);
    BOOST_TEST(WEXITSTATUS(*st) == 0, read_file(first.output));
    std::tie(rc, out) = run_program({exe, "status", "--journal", dir.file("j.db"), "--json"}, dir.file("status.out"));
    BOOST_TEST(out.find(R"("delivered":40)") != std::string::npos, out);
    BOOST_TEST(out.find(R"("running":false)") != std::string::npos, out);
    BOOST_TEST(check_exactly_once(m.server->record(), dir.file("j.db"), 40, 10) == 0u);
}

BOOST_AUTO_TEST_CASE(ctrl_c_settles_what_is_in_flight_and_a_second_run_finishes)
{
    temp_dir dir;
    mock::server_params p;
    p.faults.push_back(mock::parse_fault("reset,apply,probability=0.05,route=post_message"));
    dispatch_mock m(p, dir);
    write_campaign_file(dir.file("c.jsonl"), 3000, 20);
    const child c =
        spawn_program(run_args(m, dir, "c.jsonl", {"--rate", "1000", "--concurrency", "16"}), dir.file("o1"));
    for (int i = 0; i < 1000 && m.server->record().operation_count("post_message") < 200; ++i)
        std::this_thread::sleep_for(5ms);
    ::kill(c.pid, SIGINT);
    const auto st = wait_for(c, 30s);
    BOOST_REQUIRE(st);
    const auto out = read_file(c.output);
    BOOST_TEST(WEXITSTATUS(*st) == 130, out);
    BOOST_TEST(out.find("stopping: nothing new starts") != std::string::npos, out);
    BOOST_TEST(out.find("smooch-dispatch: stopped") != std::string::npos, out);
    const auto [rc, status] = run_program({exe, "status", "--journal", dir.file("j.db"), "--json"}, dir.file("s"));
    BOOST_TEST(status.find(R"("unknown":0,"sending":0)") != std::string::npos, status);  // settled, nothing open
    const auto [rc2, out2] = run_program(run_args(m, dir, "c.jsonl"), dir.file("o2"));
    BOOST_TEST(rc2 == 0, out2);
    BOOST_TEST(check_exactly_once(m.server->record(), dir.file("j.db"), 3000, 20) == 0u);
}

BOOST_AUTO_TEST_CASE(a_server_that_never_answers_ends_the_run_within_its_deadlines)
{
    temp_dir dir;
    // Accepts connections and never says a word: the TLS handshake never completes.
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acc(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    std::vector<boost::asio::ip::tcp::socket> held;
    std::function<void()> accept = [&] {
        acc.async_accept([&](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
            if (ec) return;
            held.push_back(std::move(s));
            accept();
        });
    };
    accept();
    std::thread t([&] { io.run(); });
    write_campaign_file(dir.file("c.jsonl"), 50, 10);
    const auto url = "https://127.0.0.1:" + std::to_string(acc.local_endpoint().port());
    const auto t0 = std::chrono::steady_clock::now();
    auto [rc, out] =
        run_program({exe, "run", dir.file("c.jsonl"), "--journal", dir.file("j.db"), "--url", url, "--key-id", "k",
                     "--secret", "s3cr3t-value", "--app", "app_1", "--timeout", "500", "--concurrency", "4"},
                    dir.file("o"), 60s);
    const auto took = std::chrono::steady_clock::now() - t0;
    boost::asio::post(io, [&] {
        acc.close();
        held.clear();
    });
    t.join();
    BOOST_TEST(rc == 1, out);
    BOOST_TEST(out.find("server looks down") != std::string::npos, out);
    BOOST_TEST(out.find("Run again to resume") != std::string::npos, out);
    // 16 calls in a row, 4 at a time, each bounded by --timeout 500 ms plus the 1 s retry delay: about 6 s.
    BOOST_TEST(took < 20s);
    BOOST_TEST(out.find("s3cr3t") == std::string::npos, out);  // credentials never appear
    const auto [rc2, status] = run_program({exe, "status", "--journal", dir.file("j.db"), "--json"}, dir.file("s"));
    BOOST_TEST(status.find(R"("delivered":0)") != std::string::npos, status);
    BOOST_TEST(status.find(R"("failed":0)") != std::string::npos, status);  // nothing marked failed: resumable
}

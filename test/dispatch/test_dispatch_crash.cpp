// SPDX-License-Identifier: BSL-1.0
// Crash injection: smooch-dispatch (the program) is killed with SIGKILL at seeded random moments while smooch-mock,
// hosted here on its own thread (so it keeps its state across the dispatch processes), resets connections after and
// before applying posts, answers 503 and 429. Each kill is followed by a rerun on the same journal until one
// completes. Then the mock's record must hold every line's message exactly once, and the journal must agree with the
// record line by line.
//
// CI runs a short campaign. The long one (bench/dispatch_crash.sh) passes arguments after "--":
//   test_dispatch_crash -- --lines 10000 --users 100 --kills 25 --seed 7
#define BOOST_TEST_MODULE dispatch_crash
#include <boost/test/unit_test.hpp>

#include "process.hpp"
#include "support.hpp"

#include <smooch/mock/server.hpp>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <thread>

using namespace smooch;
using namespace smooch::test;
using namespace std::chrono_literals;

namespace {

struct crash_options {
    std::size_t lines = 2000, users = 100, kills = 8;
    std::uint64_t seed = 1;
    double fault_p = 0.01;
    int rate = 1000;  // posts/s: the campaign must outlast the kills, so each kill lands mid-run
    int kill_min_ms = 40, kill_max_ms = 500;
};

crash_options options_from_args()
{
    crash_options o;
    auto& ts = boost::unit_test::framework::master_test_suite();
    for (int i = 1; i + 1 < ts.argc; i += 2) {
        const std::string k = ts.argv[i], v = ts.argv[i + 1];
        if (k == "--lines") o.lines = std::stoul(v);
        else if (k == "--users") o.users = std::stoul(v);
        else if (k == "--kills") o.kills = std::stoul(v);
        else if (k == "--seed") o.seed = std::stoull(v);
        else if (k == "--fault-probability") o.fault_p = std::stod(v);
        else if (k == "--kill-max-ms") o.kill_max_ms = std::stoi(v);
        else if (k == "--rate") o.rate = std::stoi(v);
        else BOOST_FAIL("unknown argument " << k);
    }
    return o;
}

std::vector<std::string> run_args(const dispatch_mock& m, const temp_dir& dir, int rate)
{
    return m.run_args(SMOOCH_DISPATCH_EXE, dir.file("campaign.jsonl"), dir.file("j.db"),
                      {"--settle", "100", "--clock-skew", "1000", "--concurrency", "32", "--connections", "8", "--json",
                       "--timeout", "20000", "--rate", std::to_string(rate)});
}

/// Lines the journal holds as possibly sent, and how many users they belong to.
std::pair<std::size_t, std::size_t> unsettled(const std::string& journal)
{
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(journal.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        sqlite3_close(db);
        return {0, 0};
    }
    sqlite3_stmt* s = nullptr;
    std::pair<std::size_t, std::size_t> out{0, 0};
    if (sqlite3_prepare_v2(db, "SELECT count(*), count(DISTINCT user) FROM lines WHERE state IN (1, 2)", -1, &s,
                           nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        out = {static_cast<std::size_t>(sqlite3_column_int64(s, 0)),
               static_cast<std::size_t>(sqlite3_column_int64(s, 1))};
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
}

std::uint64_t json_number(const std::string& out, const std::string& name)
{
    const auto p = out.find("\"" + name + "\":");
    if (p == std::string::npos) return UINT64_MAX;
    return std::strtoull(out.c_str() + p + name.size() + 3, nullptr, 10);
}

}  // namespace

BOOST_AUTO_TEST_CASE(killed_at_random_moments_every_line_is_stored_exactly_once)
{
    const crash_options o = options_from_args();
    std::cout << "crash injection: " << o.lines << " lines to " << o.users << " users at " << o.rate << "/s, "
              << o.kills << " kills, seed " << o.seed << " (replay: test_dispatch_crash -- --lines " << o.lines
              << " --users " << o.users << " --kills " << o.kills << " --seed " << o.seed << ")" << std::endl;
    temp_dir dir;
    mock::server_params mp;
    mp.seed = o.seed;
    const std::string p = std::to_string(o.fault_p);
    for (const char* f : {"reset,apply", "reset", "status=503", "status=429"})
        mp.faults.push_back(mock::parse_fault(std::string(f) + ",probability=" + p + ",route=post_message"));
    mp.faults.push_back(mock::parse_fault("status=503,probability=" + p + ",route=get_messages"));
    dispatch_mock m(mp, dir);
    write_campaign_file(dir.file("campaign.jsonl"), o.lines, o.users);
    const auto args = run_args(m, dir, o.rate);

    std::mt19937_64 rng(o.seed);
    std::uniform_int_distribution<int> moment(o.kill_min_ms, o.kill_max_ms);
    std::size_t kills = 0, runs = 0, finished_early = 0, status_checked = 0;
    std::size_t max_recovered = 0, worst_reads_over_users = 0, recoveries = 0;
    bool completed = false;
    for (std::size_t attempt = 0; attempt < o.kills * 4 + 20 && !completed; ++attempt) {  // bounded
        const auto [left, users] = unsettled(dir.file("j.db"));
        ++runs;
        const child c = spawn_program(args, dir.file("run.out"));
        if (kills < o.kills) {
            const auto at = std::chrono::milliseconds(moment(rng));
            if (status_checked == 0 && kills == o.kills / 2) {  // `status` reads the journal during a run
                const auto [rc, out] =
                    run_program({SMOOCH_DISPATCH_EXE, "status", "--journal", dir.file("j.db")}, dir.file("status.out"));
                BOOST_TEST(rc == 0, out);
                status_checked += out.find("lines ") != std::string::npos;
            }
            if (!wait_for(c, at)) {
                kill_and_reap(c);
                ++kills;
                // A killed run may have finished settling the previous kill's lines first: it says so on stderr.
                const auto out = read_file(c.output);
                if (const auto at_ = out.find("settled "); at_ != std::string::npos) {
                    ++recoveries;
                    const auto w = out.find(" with ", at_);
                    const auto reads = w == std::string::npos ? 0 : std::strtoull(out.c_str() + w + 6, nullptr, 10);
                    BOOST_TEST(reads <= users * 2, "recovery took " << reads << " reads for " << users << " users");
                    std::cout << "recovery (run later killed, " << left << " lines of " << users
                              << " users): " << out.substr(at_, out.find('\n', at_) - at_) << std::endl;
                }
                continue;
            }
            ++finished_early;  // it ended before its kill moment: no kill this time
        }
        const auto st = wait_for(c, 120s);
        if (!st) {
            kill_and_reap(c);
            BOOST_FAIL("a run did not end within 120 s: " << read_file(c.output));
        }
        const std::string out = read_file(c.output);
        BOOST_REQUIRE_MESSAGE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0, "run " << runs << " failed: " << out);
        BOOST_REQUIRE_MESSAGE(out.find(R"("end":"completed")") != std::string::npos, out);
        completed = kills >= o.kills;
        const auto recovered = json_number(out, "recovered"), reads = json_number(out, "recovery_reads");
        BOOST_TEST(recovered == left);
        if (left) {
            // At most one read per affected user and page (a user's window holds at most a few pages here).
            BOOST_TEST(reads <= users * 2,
                       "recovery of " << left << " lines of " << users << " users took " << reads << " reads");
            max_recovered = std::max<std::size_t>(max_recovered, left);
            worst_reads_over_users = std::max<std::size_t>(worst_reads_over_users, reads - std::min(reads, users));
            ++recoveries;
            std::cout << "recovery: " << recovered << " lines of " << users << " users settled in "
                      << json_number(out, "recovery_ms") << " ms with " << reads << " reads" << std::endl;
        }
    }
    BOOST_TEST(completed);
    BOOST_TEST(kills == o.kills);
    BOOST_TEST(status_checked == 1u);
    const auto rec = m.server->record();
    std::cout << "crash injection: " << kills << " kills, " << runs << " runs (" << finished_early
              << " ended before their kill), faults " << rec.fault_count(mock::fault_action::reset) << " resets, "
              << rec.fault_count(mock::fault_action::status)
              << " statuses; most lines left in flight by a kill: " << max_recovered << "; recoveries seen "
              << recoveries << std::endl;
    BOOST_TEST(rec.fault_count(mock::fault_action::reset) > 0u);
    BOOST_TEST(check_exactly_once(rec, dir.file("j.db"), o.lines, o.users) == 0u);
}

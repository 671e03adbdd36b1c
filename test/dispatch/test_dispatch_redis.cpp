// SPDX-License-Identifier: BSL-1.0
// Four smooch-dispatch processes (shards 0..3 of one campaign) share one app's budget through a real
// redis-server, started here on a port the OS picks, against one rate-limited smooch-mock (R = 500/s,
// burst 50, 429s without Retry-After). Checked from the mock's record, as a user would: every line's message
// stored exactly once, the aggregate rate under R + burst in every 1 s window, few 429s, throughput >= 0.9 R.
// Then the same with Redis killed and restarted mid-run, and with one dispatcher SIGKILLed and restarted.

#define BOOST_TEST_MODULE dispatch_redis
#include <boost/test/unit_test.hpp>

#include "process.hpp"
#include "redis_server.hpp"
#include "support.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>

using namespace smooch;
using namespace smooch::test;
using namespace std::chrono_literals;

namespace {

constexpr double mock_rate = 500, mock_burst = 50;  // the "server's" limit
constexpr double budget = 480, budget_burst = 25;   // what the dispatchers share: a margin under it
constexpr unsigned shards = 4;
constexpr std::size_t users = 400;

std::uint64_t fnv1a(std::string_view s)  // the hash docs/scale-out.md documents for --shard
{
    std::uint64_t h = 14695981039346656037ull;
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    return h;
}

std::uint64_t json_number(const std::string& out, const std::string& key)
{
    const auto at = out.rfind("\"" + key + "\":");
    return at == std::string::npos ? 0 : std::strtoull(out.c_str() + at + key.size() + 3, nullptr, 10);
}

struct campaign_run {
    temp_dir dir;
    std::size_t lines;
    std::string campaign = dir.file("c.jsonl");
    std::unique_ptr<dispatch_mock> mock;
    std::unique_ptr<redis_server> redis;
    std::vector<child> procs;

    explicit campaign_run(std::size_t n) : lines(n)
    {
        write_campaign_file(campaign, lines, users);
        mock::server_params mp;
        mp.rate = mock::rate_limit{mock_rate, mock_burst};
        mp.max_recorded_requests = n * 2;
        mock = std::make_unique<dispatch_mock>(mp, dir);
        redis = std::make_unique<redis_server>(dir);
    }
    std::vector<std::string> args(unsigned shard) const
    {
        return mock->run_args(SMOOCH_DISPATCH_EXE, campaign, dir.file("j" + std::to_string(shard) + ".db"),
                              {"--shard", std::to_string(shard) + "/" + std::to_string(shards), "--redis", redis->url(),
                               "--redis-key-prefix", "test:" + std::to_string(::getpid()) + ":", "--rate",
                               std::to_string(static_cast<int>(budget)), "--burst",
                               std::to_string(static_cast<int>(budget_burst)), "--json", "--no-progress", "--timeout",
                               "60000"});
    }
    std::string out_file(unsigned shard, int run = 0) const
    {
        return dir.file("out" + std::to_string(shard) + "." + std::to_string(run));
    }
    void start_all()
    {
        for (unsigned s = 0; s < shards; ++s) procs.push_back(spawn_program(args(s), out_file(s)));
    }
    /// Posts the mock has answered so far.
    std::size_t posts() const
    {
        const auto rec = mock->server->record();
        const auto it = rec.routed.find("post_message");
        return it == rec.routed.end() ? 0 : it->second;
    }
    /// Waits (bounded) until the mock has seen `n` posts.
    void wait_posts(std::size_t n) const
    {
        for (int i = 0; i < 1200 && posts() < n; ++i)
            std::this_thread::sleep_for(50ms);  // polling another process's progress: no event to wait on
        BOOST_REQUIRE(posts() >= n);
    }
    /// Waits for every dispatcher; returns their outputs (each must complete with exit 0).
    std::vector<std::string> finish(int run = 0)
    {
        std::vector<std::string> outs;
        for (unsigned s = 0; s < procs.size(); ++s) {
            const auto st = wait_for(procs[s], 180s);
            if (!st) kill_and_reap(procs[s]);
            const std::string out = read_file(procs[s].output);
            BOOST_TEST_REQUIRE((st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0), "shard " << s << ": " << out);
            BOOST_TEST(out.find(R"("end":"completed")") != std::string::npos, out);
            outs.push_back(out);
        }
        (void)run;
        return outs;
    }

    /// Every line's message stored exactly once, and the shard's journal holds it as delivered with that id.
    void check_exactly_once() const
    {
        const auto rec = mock->server->record();
        std::map<std::string, std::vector<std::string>> ids;
        std::size_t stored = 0, created = 0;
        for (const auto& c : rec.conversations) {
            stored += c.messages.size();
            created += c.created_ids.size();
            for (const auto& m : c.messages) ids[c.user_id + "|" + m.text.value_or("")].push_back(m.id);
        }
        BOOST_TEST(stored == lines);
        BOOST_TEST(created == lines);
        std::vector<std::map<std::uint64_t, journal_row>> rows;
        for (unsigned s = 0; s < shards; ++s) rows.push_back(read_journal(dir.file("j" + std::to_string(s) + ".db")));
        std::vector<std::uint64_t> next(shards, 1);  // a shard numbers its lines 1.. in file order
        std::size_t bad = 0;
        for (std::size_t i = 1; i <= lines; ++i) {
            const std::string user = "u" + std::to_string(i % users);
            const auto s = static_cast<unsigned>(fnv1a(user) % shards);
            const auto local = next[s]++;
            const auto it = ids.find(user + "|line " + std::to_string(i));
            const auto row = rows[s].find(local);
            const bool ok = it != ids.end() && it->second.size() == 1 && row != rows[s].end() &&
                            row->second.state == static_cast<int>(dispatch::line_state::delivered) &&
                            row->second.message_id == it->second.front();
            if (!ok && bad++ < 10) BOOST_ERROR("line " << i << " (shard " << s << " line " << local << ") not once");
        }
        BOOST_TEST(bad == 0u);
    }

    /// The aggregate rate the mock saw: the most posts in any 1 s window, and the overall posts/s.
    std::pair<std::size_t, double> rates() const
    {
        const auto rec = mock->server->record();
        std::vector<std::chrono::steady_clock::time_point> t;
        for (const auto& r : rec.requests)
            if (r.route == "post_message") t.push_back(r.arrival);
        std::sort(t.begin(), t.end());
        std::size_t most = 0;
        for (std::size_t a = 0, b = 0; a < t.size(); ++a) {
            while (b < t.size() && t[b] < t[a] + 1s) ++b;
            most = std::max(most, b - a);
        }
        const double secs = t.size() > 1 ? std::chrono::duration<double>(t.back() - t.front()).count() : 1;
        return {most, static_cast<double>(t.size()) / secs};
    }

    void report(const char* what, const std::vector<std::string>& outs) const
    {
        std::uint64_t calls = 0, posts_ = 0, fallback = 0, p50 = 0, p99 = 0;
        for (const auto& o : outs) {
            calls += json_number(o, "calls");
            posts_ += json_number(o, "posts");
            fallback += json_number(o, "granted_fallback");
            p50 = std::max(p50, json_number(o, "round_trip_p50_us"));
            p99 = std::max(p99, json_number(o, "round_trip_p99_us"));
        }
        const auto [most, rate] = rates();
        std::cout << what << ": " << lines << " lines, 4 shards; most posts in a 1 s window " << most << " (limit "
                  << mock_rate << " + burst " << mock_burst << "), " << rate << " posts/s overall; 429s "
                  << mock->server->record().rate_limited << "; Redis calls " << calls << " for " << posts_ << " posts ("
                  << (posts_ ? double(calls) / double(posts_) : 0) << " per post); fallback grants " << fallback
                  << "; round trip p50 " << p50 << " us, p99 " << p99 << " us (worst shard)" << std::endl;
    }
};

std::size_t scaled(std::size_t full)
{
    // SMOOCH_REDIS_TEST_SCALE=0.5 halves the campaigns (slow machines); default 1: 20 R lines in the first test.
    const char* s = std::getenv("SMOOCH_REDIS_TEST_SCALE");
    const double f = s ? std::atof(s) : 1.0;
    return std::max<std::size_t>(400, static_cast<std::size_t>(static_cast<double>(full) * (f > 0 ? f : 1.0)));
}

}  // namespace

BOOST_AUTO_TEST_CASE(four_dispatchers_share_one_budget)
{
    campaign_run c(scaled(20 * 500));
    c.start_all();
    const auto outs = c.finish();
    c.report("shared budget", outs);
    c.check_exactly_once();
    const auto [most, rate] = c.rates();
    BOOST_TEST(most <= static_cast<std::size_t>(mock_rate + mock_burst));
    BOOST_TEST(rate >= 0.9 * mock_rate);
    BOOST_TEST(c.mock->server->record().rate_limited <= 10u);
    std::uint64_t calls = 0, posts = 0;
    for (const auto& o : outs) {
        calls += json_number(o, "calls");
        posts += json_number(o, "posts");
        BOOST_TEST(json_number(o, "granted_fallback") == 0u, o);
    }
    BOOST_TEST(double(calls) / double(posts) <= 0.06);
}

BOOST_AUTO_TEST_CASE(redis_killed_and_restarted_mid_run)
{
    campaign_run c(scaled(12 * 500));
    c.start_all();
    c.wait_posts(c.lines / 4);
    c.redis->stop();            // SIGKILL
    c.wait_posts(c.lines / 2);  // on the fallback share meanwhile
    c.redis->start();           // same port, empty: the function is loaded again on reconnect
    const auto outs = c.finish();
    c.report("redis killed and restarted", outs);
    c.check_exactly_once();
    const auto [most, rate] = c.rates();
    BOOST_TEST(most <= static_cast<std::size_t>(mock_rate + mock_burst));
    BOOST_TEST(c.mock->server->record().rate_limited <= 10u);
    for (const auto& o : outs) {
        BOOST_TEST(json_number(o, "granted_fallback") > 0u, o);
        BOOST_TEST(o.find("falling back") != std::string::npos, o);
        BOOST_TEST(o.find("back on the shared budget") != std::string::npos, o);
    }
    (void)rate;
}

BOOST_AUTO_TEST_CASE(a_dispatcher_killed_and_restarted_resumes_its_shard)
{
    campaign_run c(scaled(12 * 500));
    c.start_all();
    c.wait_posts(c.lines / 3);
    kill_and_reap(c.procs[1]);  // SIGKILL, mid-run
    c.procs[1] = spawn_program(c.args(1), c.out_file(1, 1));
    const auto outs = c.finish();
    c.report("one dispatcher killed and restarted", outs);
    c.check_exactly_once();
    const auto [most, rate] = c.rates();
    BOOST_TEST(most <= static_cast<std::size_t>(mock_rate + mock_burst));
    BOOST_TEST(c.mock->server->record().rate_limited <= 10u);
    (void)rate;
}

BOOST_AUTO_TEST_CASE(a_redis_with_a_password_gets_it_from_the_environment_and_never_prints_it)
{
    temp_dir dir;
    write_campaign_file(dir.file("c.jsonl"), 100, 10);
    dispatch_mock m({}, dir);
    redis_server r(dir, "pw-7f3a");
    // Through env(1): the password is in the child's environment only, as an operator would set it.
    auto run = [&](const std::string& journal, std::vector<std::string> env, std::vector<std::string> more = {}) {
        std::vector<std::string> a{"/usr/bin/env", "-u", "SMOOCH_REDIS_PASSWORD"};
        a.insert(a.end(), env.begin(), env.end());
        more.insert(more.end(), {"--redis", r.url(), "--redis-key-prefix", "pw:", "--rate", "1000", "--json",
                                 "--no-progress", "--settle", "50"});
        const auto rest = m.run_args(SMOOCH_DISPATCH_EXE, dir.file("c.jsonl"), dir.file(journal), more);
        a.insert(a.end(), rest.begin(), rest.end());
        return run_program(a, dir.file(journal + ".out"));
    };
    auto [rc, out] = run("a.db", {"SMOOCH_REDIS_PASSWORD=pw-7f3a"});
    BOOST_TEST(rc == 0, out);
    BOOST_TEST(out.find(R"("end":"completed")") != std::string::npos, out);
    BOOST_TEST(json_number(out, "granted_shared") > 0u, out);
    BOOST_TEST(json_number(out, "granted_fallback") == 0u, out);
    BOOST_TEST(out.find("pw-7f3a") == std::string::npos, out);

    // None: Redis's refusal is said, and the run finishes on its own share.
    std::tie(rc, out) = run("b.db", {});
    BOOST_TEST(rc == 0, out);
    BOOST_TEST(out.find("Redis refused the credentials") != std::string::npos, out);
    BOOST_TEST(out.find("NOAUTH") != std::string::npos, out);
    BOOST_TEST(json_number(out, "granted_fallback") > 0u, out);

    // A wrong one: the same, and neither password appears anywhere.
    std::tie(rc, out) = run("c.db", {"SMOOCH_REDIS_PASSWORD=not-it"});
    BOOST_TEST(rc == 0, out);
    BOOST_TEST(out.find("WRONGPASS") != std::string::npos, out);
    BOOST_TEST(out.find("not-it") == std::string::npos, out);
    BOOST_TEST(out.find("pw-7f3a") == std::string::npos, out);

    // A user needs a password.
    std::tie(rc, out) = run("d.db", {}, {"--redis-user", "bob"});
    BOOST_TEST(rc == 2, out);
    BOOST_TEST(out.find("SMOOCH_REDIS_PASSWORD") != std::string::npos, out);
}

// SPDX-License-Identifier: BSL-1.0
// smooch-dispatch: runs a campaign file through smooch::dispatch (docs/dispatch.md).
//
// Exit status: 0 every line ended (delivered, failed or rejected); 1 the run stopped early or could not start
// (the reason is printed); 2 usage error; 130 interrupted (Ctrl-C): run again with the same journal to resume.

#include "dispatch/progress_bar.hpp"

#include <smooch/dispatch.hpp>
#include <smooch/error.hpp>
#include <smooch/mock/server.hpp>
#include <smooch/redis.hpp>
#include <smooch/version.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace sd = smooch::dispatch;

namespace {

constexpr const char* usage_text = R"(usage:
  smooch-dispatch run CAMPAIGN.jsonl --journal FILE --url URL
                  (--key-id ID --secret S | --jwt TOKEN)
                  [--ca FILE] [--app APP] [--concurrency C] [--connections K]
                  [--intent-window W] [--rate R] [--burst B] [--failures FILE]
                  [--json] [--retry-failed] [--settle MS] [--clock-skew MS]
                  [--timeout MS] [--synchronous full|normal] [--commit-every MS]
                  [--no-progress] [--shard I/N --redis redis://HOST:PORT[/DB]
                  [--redis-key-prefix P] [--redis-user U]]
  smooch-dispatch run CAMPAIGN.jsonl --journal FILE --dry-run [options]
  smooch-dispatch status --journal FILE [--journal FILE2 ...] [--json]
  smooch-dispatch --help | --version

Sends one message per campaign line and records each in the journal (SQLite),
so that every line ends exactly once in delivered, failed or rejected, across
crashes and restarts. Run again with the same journal to resume. A line:
  {"user": "...", "message": {MessagePost}, "app": "..." (default --app),
   "key": "..." (optional)}

run options:
  --journal FILE         the campaign's journal (created on the first run;
                         refuses another campaign's journal)
  --url URL              API base URL, e.g. https://api.smooch.io
  --dry-run              instead of --url: start smooch-mock in this process
                         and dispatch to it
  --key-id ID --secret S Basic credentials (the secret may come from
                         SMOOCH_SECRET instead)
  --jwt TOKEN            a ready-made JWT, sent as a Bearer token
  --ca FILE              PEM file of CAs to trust (default: the system store)
  --app APP              app of lines that name none
  --concurrency C        posts in flight (default 64)
  --intent-window W      lines whose intent is recorded ahead of a free sender
                         (default: 4096 or 8 x C, whichever is larger)
  --connections K        connections to the server (default 16)
  --rate R [--burst B]   client-side limit, requests/s per app (default none;
                         burst default max(1, R/10))
  --failures FILE        write failed and rejected lines with their reasons as
                         JSON lines (ready to fix and feed back)
  --json                 print the summary as one JSON object (no progress bar)
  --retry-failed         attempt again the lines that failed in earlier runs
  --settle MS            wait before reading back an unknown outcome
                         (default 3000)
  --clock-skew MS        read back from this long before the intent
                         (default 60000)
  --timeout MS           deadline of one call, retries included (default 120000)
  --synchronous MODE     full (default: each commit on disk, survives a power
                         loss) or normal (survives a crash)
  --commit-every MS      how long the journal gathers intents and results into
                         one transaction (default 10)
  --no-progress          no progress bar even on a terminal
  --shard I/N            take only the lines whose user hashes to I (0 <= I < N;
                         one user's lines stay in order in one process); each
                         shard has its own --journal (docs/scale-out.md)
  --redis URL            share --rate/--burst (the app's whole budget) with the
                         other shards through Redis; while Redis is unreachable
                         this process sends at most rate/N
  --redis-key-prefix P   prefix of the Redis keys (default smooch:rate:)
  --redis-user U         Redis ACL user (default: the default user); the
                         password comes from SMOOCH_REDIS_PASSWORD, never a flag
status: several --journal (one per shard) print each and the campaign's total.
Ctrl-C once: start nothing new, settle what is in flight, print the summary.
Twice: exit at once (resumable).
Exit status: 0 every line ended, 1 stopped early or error, 2 usage,
130 interrupted.
)";

[[noreturn]] void usage_error(const std::string& m)
{
    std::cerr << "smooch-dispatch: " << m << "\n(see smooch-dispatch --help)\n";
    std::exit(2);
}

template <class T>
T number(const std::string& flag, const std::string& v, T min, T max)
{
    T out{};
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc{} || p != v.data() + v.size() || out < min || out > max)
        usage_error(flag + ": expected a number from " + std::to_string(min) + " to " + std::to_string(max) +
                    ", got \"" + v + "\"");
    return out;
}

struct options {
    std::vector<std::string> journals;
    std::string redis_url, redis_prefix = "smooch:rate:", redis_user;
    unsigned shard = 0, shards = 1;
    bool sharded = false;
    std::string command, campaign, journal, url, key_id, secret, jwt, ca, app, failures;
    bool dry_run = false, json = false, retry_failed = false, no_progress = false;
    std::size_t concurrency = 64, connections = 16, intent_window = 0;
    double rate = 0, burst = 0;
    long settle_ms = 3000, skew_ms = 60000, timeout_ms = 120000, commit_every_ms = -1;
    std::uint64_t max_pages = 0;
    sd::journal_sync sync = sd::journal_sync::full;
};

options parse(int argc, char** argv)
{
    options o;
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) usage_error("no command (run or status)");
    std::size_t i = 0;
    auto value = [&](const std::string& flag) -> std::string {
        if (i + 1 >= args.size()) usage_error(flag + " needs a value");
        return args[++i];
    };
    for (; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--help" || a == "-h") {
            std::cout << usage_text;
            std::exit(0);
        }
        if (a == "--version") {
            std::cout << "smooch-dispatch " << smooch::version() << "\n";
            std::exit(0);
        }
        if (a == "--journal") {
            o.journal = value(a);
            o.journals.push_back(o.journal);
        } else if (a == "--redis") o.redis_url = value(a);
        else if (a == "--redis-key-prefix") o.redis_prefix = value(a);
        else if (a == "--redis-user") o.redis_user = value(a);
        else if (a == "--shard") {
            const std::string v = value(a);
            const auto slash = v.find('/');
            if (slash == std::string::npos) usage_error("--shard: expected I/N, got \"" + v + "\"");
            o.shards = number<unsigned>(a, v.substr(slash + 1), 1, 65536);
            o.shard = number<unsigned>(a, v.substr(0, slash), 0, o.shards - 1);
            o.sharded = true;
        } else if (a == "--url") o.url = value(a);
        else if (a == "--key-id") o.key_id = value(a);
        else if (a == "--secret") o.secret = value(a);
        else if (a == "--jwt") o.jwt = value(a);
        else if (a == "--ca") o.ca = value(a);
        else if (a == "--app") o.app = value(a);
        else if (a == "--failures") o.failures = value(a);
        else if (a == "--concurrency") o.concurrency = number<std::size_t>(a, value(a), 1, 100000);
        else if (a == "--connections") o.connections = number<std::size_t>(a, value(a), 1, 10000);
        else if (a == "--intent-window") o.intent_window = number<std::size_t>(a, value(a), 1, 1000000);
        else if (a == "--rate") o.rate = number<double>(a, value(a), 0.001, 1e7);
        else if (a == "--burst") o.burst = number<double>(a, value(a), 1, 1e7);
        else if (a == "--settle") o.settle_ms = number<long>(a, value(a), 0, 3600000);
        else if (a == "--clock-skew") o.skew_ms = number<long>(a, value(a), 0, 86400000);
        else if (a == "--commit-every") o.commit_every_ms = number<long>(a, value(a), 0, 10000);
        else if (a == "--timeout") o.timeout_ms = number<long>(a, value(a), 1, 86400000);
        else if (a == "--journal-max-pages") o.max_pages = number<std::uint64_t>(a, value(a), 1, 1u << 30);  // tests
        else if (a == "--synchronous") {
            const std::string v = value(a);
            if (v == "full") o.sync = sd::journal_sync::full;
            else if (v == "normal") o.sync = sd::journal_sync::normal;
            else usage_error("--synchronous: expected full or normal, got \"" + v + "\"");
        } else if (a == "--dry-run") o.dry_run = true;
        else if (a == "--json") o.json = true;
        else if (a == "--retry-failed") o.retry_failed = true;
        else if (a == "--no-progress") o.no_progress = true;
        else if (a.starts_with("-")) usage_error("unknown option " + a);
        else if (o.command.empty()) o.command = a;
        else if (o.command == "run" && o.campaign.empty()) o.campaign = a;
        else usage_error("unexpected argument \"" + a + "\"");
    }
    if (o.command != "run" && o.command != "status") usage_error("unknown command \"" + o.command + "\"");
    if (o.journal.empty()) usage_error("--journal FILE is required");
    if (o.command == "status") return o;
    if (o.journals.size() > 1) usage_error("run takes one --journal (one per shard)");
    if (!o.redis_url.empty() && o.rate <= 0) usage_error("--redis needs --rate R: the app's whole budget, shared");
    if (o.redis_prefix.empty()) usage_error("--redis-key-prefix must not be empty");
    if (!o.redis_user.empty() && o.redis_url.empty()) usage_error("--redis-user needs --redis URL");
    if (!o.redis_user.empty() && !std::getenv("SMOOCH_REDIS_PASSWORD"))
        usage_error("--redis-user needs the user's password in SMOOCH_REDIS_PASSWORD");
    if (o.campaign.empty()) usage_error("run needs a campaign file");
    if (o.url.empty() && !o.dry_run)
        usage_error("--url is required (or --dry-run to dispatch to a smooch-mock started in this process)");
    if (!o.url.empty() && o.dry_run) usage_error("--url and --dry-run exclude each other");
    if (o.secret.empty() && !o.key_id.empty())
        if (const char* s = std::getenv("SMOOCH_SECRET")) o.secret = s;
    if (!o.dry_run) {
        const bool basic = !o.key_id.empty() || !o.secret.empty();
        if (basic && !o.jwt.empty()) usage_error("give --key-id/--secret or --jwt, not both");
        if (basic && (o.key_id.empty() || o.secret.empty())) usage_error("--key-id and --secret go together");
        if (!basic && o.jwt.empty()) usage_error("credentials are required: --key-id ID --secret S, or --jwt TOKEN");
    }
    return o;
}

std::string utc(std::int64_t ms)
{
    if (ms <= 0) return "-";
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char b[32];
    std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return b;
}

int status_one(const options& o, sd::journal_status& s)
{
    try {
        s = sd::read_journal_status(o.journal);
    } catch (const std::exception& e) {
        std::cerr << "smooch-dispatch: " << e.what() << "\n";
        return 1;
    }
    const std::uint64_t done = s.delivered + s.failed + s.rejected;
    if (o.json) {
        boost::json::object j{{"journal", o.journal},
                              {"campaign", s.campaign_name},
                              {"sha256", s.campaign_id},
                              {"total", s.total},
                              {"done", done},
                              {"delivered", s.delivered},
                              {"failed", s.failed},
                              {"rejected", s.rejected},
                              {"unknown", s.unknown},
                              {"sending", s.sending},
                              {"pending", s.pending},
                              {"not_started", s.not_started},
                              {"running", s.running},
                              {"created_ms", s.created_ms},
                              {"updated_ms", s.updated_ms}};
        if (s.running) j["pid"] = s.running_pid;
        std::cout << boost::json::serialize(j) << "\n";
        return 0;
    }
    if (s.campaign_id.empty()) {  // a run holds it and has not recorded its campaign yet
        std::cout << "journal    " << o.journal << "\nrun        in progress (pid " << s.running_pid
                  << "), still reading its campaign file\n";
        return 0;
    }
    std::cout << "journal    " << o.journal << "\ncampaign   " << s.campaign_name << " (sha256 "
              << s.campaign_id.substr(0, 16) << "...)\n"
              << "lines      " << s.total << ": " << done << " ended (delivered " << s.delivered << ", failed "
              << s.failed << ", rejected " << s.rejected << "); unknown " << s.unknown << ", sending " << s.sending
              << ", pending " << s.pending << ", not started " << s.not_started << "\n"
              << "run        " << (s.running ? "in progress (pid " + std::to_string(s.running_pid) + ")" : "none")
              << "\ncreated    " << utc(s.created_ms) << "\nupdated    " << utc(s.updated_ms) << "\n";
    return 0;
}

/// Each journal, then (several: one per shard) the campaign's total.
int status_command(const options& o)
{
    sd::journal_status total;
    std::uint64_t running = 0;
    int rc = 0;
    for (const auto& j : o.journals) {
        options one = o;
        one.journal = j;
        sd::journal_status s;
        if (status_one(one, s) != 0) {
            rc = 1;
            continue;
        }
        total.total += s.total;
        total.delivered += s.delivered;
        total.failed += s.failed;
        total.rejected += s.rejected;
        total.unknown += s.unknown;
        total.sending += s.sending;
        total.pending += s.pending;
        total.not_started += s.not_started;
        running += s.running ? 1 : 0;
    }
    if (o.journals.size() < 2) return rc;
    const std::uint64_t done = total.delivered + total.failed + total.rejected;
    if (o.json) {
        boost::json::object j{
            {"journals", o.journals.size()},    {"total", total.total},     {"done", done},
            {"delivered", total.delivered},     {"failed", total.failed},   {"rejected", total.rejected},
            {"unknown", total.unknown},         {"sending", total.sending}, {"pending", total.pending},
            {"not_started", total.not_started}, {"running", running}};
        std::cout << boost::json::serialize(boost::json::object{{"campaign_total", j}}) << "\n";
        return rc;
    }
    std::cout << "total      " << o.journals.size() << " journals, " << total.total << " lines: " << done
              << " ended (delivered " << total.delivered << ", failed " << total.failed << ", rejected "
              << total.rejected << "); unknown " << total.unknown << ", sending " << total.sending << ", pending "
              << total.pending << ", not started " << total.not_started << "; runs in progress " << running
              << (rc ? " (some journals could not be read)" : "") << "\n";
    return rc;
}

void print_summary(const options& o, const sd::run_summary& s, std::uint64_t failures_written,
                   const smooch::redis::rate_source* shared)
{
    const auto& c = s.counters;
    const double secs = static_cast<double>(s.elapsed.count()) / 1000.0;
    const double rate = secs > 0 ? static_cast<double>(c.posts) / secs : 0;
    if (o.json) {
        boost::json::object j{{"end", sd::to_string(s.end)},
                              {"reason", s.reason},
                              {"total", c.total},
                              {"done", c.done()},
                              {"delivered", c.delivered},
                              {"failed", c.failed},
                              {"rejected", c.rejected},
                              {"unknown", c.unknown},
                              {"done_before", c.done_before},
                              {"posts", c.posts},
                              {"resends", c.resends},
                              {"retries", c.retries},
                              {"reconcile_reads", c.reconcile_reads},
                              {"reconciled_found", c.reconciled_found},
                              {"reconciled_absent", c.reconciled_absent},
                              {"commits", c.commits},
                              {"senders_starved", c.senders_starved},
                              {"elapsed_ms", s.elapsed.count()},
                              {"posts_per_s", rate},
                              {"recovered", s.recovered},
                              {"recovery_ms", s.recovery.count()},
                              {"recovery_reads", s.recovery_reads}};
        rusage ru{};
        getrusage(RUSAGE_SELF, &ru);
        auto ms = [](const timeval& t) {
            return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) / 1e3;
        };
        j["cpu_ms"] = ms(ru.ru_utime) + ms(ru.ru_stime);  // the whole process: the run's thread and the journal's
        j["journal_cpu_ms"] = static_cast<double>(s.journal_cpu.count()) / 1e3;
        j["peak_rss_kb"] = ru.ru_maxrss;  // --dry-run includes the in-process mock and what it stores
        if (!o.failures.empty()) j["failures_written"] = failures_written;
        if (shared) {
            const auto st = shared->stats();
            j["redis"] = {{"calls", st.redis_calls},
                          {"failures", st.redis_failures},
                          {"granted_shared", st.granted_shared},
                          {"granted_fallback", st.granted_fallback},
                          {"throttles", st.throttles},
                          {"round_trip_p50_us", st.round_trip_p50_us},
                          {"round_trip_p99_us", st.round_trip_p99_us}};
        }
        std::cout << boost::json::serialize(j) << "\n";
        return;
    }
    std::printf("smooch-dispatch: %s in %.*f s%s%s\n", sd::to_string(s.end), secs < 1 ? 2 : 1, secs,
                s.reason.empty() ? "" : ": ", s.reason.c_str());
    std::printf("  lines       %llu ended of %llu (%llu in earlier runs)\n", static_cast<unsigned long long>(c.done()),
                static_cast<unsigned long long>(c.total), static_cast<unsigned long long>(c.done_before));
    std::printf("  delivered   %llu (found by reading back: %llu)\n", static_cast<unsigned long long>(c.delivered),
                static_cast<unsigned long long>(c.reconciled_found));
    std::printf("  failed      %llu\n  rejected    %llu\n", static_cast<unsigned long long>(c.failed),
                static_cast<unsigned long long>(c.rejected));
    std::printf("  posts       %llu in this run, %.0f/s (sent again after reading back: %llu, retried: %llu)\n",
                static_cast<unsigned long long>(c.posts), rate, static_cast<unsigned long long>(c.resends),
                static_cast<unsigned long long>(c.retries));
    std::printf("  reads       %llu (reconciliation), journal commits %llu\n",
                static_cast<unsigned long long>(c.reconcile_reads), static_cast<unsigned long long>(c.commits));
    if (c.posts >= 100 && c.senders_starved * 100 > c.posts)  // more than 1 %: the journal held the fan-out back
        std::printf("  journal     the senders waited for it %llu times: raise --intent-window\n"
                    "              (or lower --commit-every; or the disk's fsync is slow)\n",
                    static_cast<unsigned long long>(c.senders_starved));
    if (s.recovered)
        std::printf("  recovery    %llu lines left in flight by an earlier run, settled in %.2f s with %llu reads\n",
                    static_cast<unsigned long long>(s.recovered), static_cast<double>(s.recovery.count()) / 1000.0,
                    static_cast<unsigned long long>(s.recovery_reads));
    if (!o.failures.empty())
        std::printf("  failures    %llu lines written to %s\n", static_cast<unsigned long long>(failures_written),
                    o.failures.c_str());
    if (s.end != sd::run_end::completed) std::printf("  run again with the same --journal to resume\n");
}

/// FNV-1a, 64 bits: stable across runs, machines and builds (std::hash is not).
std::uint64_t stable_hash(std::string_view s)
{
    std::uint64_t h = 14695981039346656037ull;
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    return h;
}

/// The shard of a campaign line: its user's hash mod N. A line that is not JSON or names no user goes to shard 0,
/// which rejects it (once, for the whole campaign).
unsigned shard_of(const std::string& line, unsigned shards)
{
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) return 0;
    const auto* u = v.as_object().if_contains("user");
    if (!u || !u->is_string()) return 0;
    return static_cast<unsigned>(stable_hash(u->as_string()) % shards);
}

/// The lines of `all` that belong to shard I of N, numbered 1.. in file order; a campaign id of its own (so the
/// derived dispatch keys of two shards never collide).
std::unique_ptr<sd::source> shard_source(std::shared_ptr<sd::source> all, unsigned shard, unsigned shards)
{
    std::uint64_t n = 0;
    all->rewind();
    for (std::string line; all->next(line);)
        if (shard_of(line, shards) == shard) ++n;
    all->rewind();
    return sd::callback_source(
        all->campaign_id() + ":shard:" + std::to_string(shard) + "/" + std::to_string(shards),
        [all, shard, shards](std::string& out) {
            while (all->next(out))
                if (shard_of(out, shards) == shard) return true;
            return false;
        },
        [all] { all->rewind(); }, n);
}

int run_command(const options& o)
{
    std::unique_ptr<sd::source> src;
    try {
        src = sd::open_campaign_file(o.campaign);
        if (o.sharded) src = shard_source(std::shared_ptr<sd::source>(std::move(src)), o.shard, o.shards);
    } catch (const std::exception& e) {
        std::cerr << "smooch-dispatch: " << e.what() << "\n";
        return 1;
    }

    // --dry-run: smooch-mock on its own thread and io_context, plain HTTP on loopback, no keys.
    asio::io_context mock_io(1);
    std::unique_ptr<smooch::mock::server> mock;
    std::thread mock_thread;
    smooch::client_params cp;
    if (o.dry_run) {
        mock = std::make_unique<smooch::mock::server>(mock_io.get_executor(), smooch::mock::server_params{});
        mock->start();
        cp.base_url = mock->base_url();
        mock_thread = std::thread([&] { mock_io.run(); });
    } else {
        cp.base_url = o.url;
        if (!o.jwt.empty()) cp.credentials = smooch::bearer_token{o.jwt};
        else cp.credentials = smooch::basic_auth{o.key_id, o.secret};
    }
    struct mock_stopper {
        smooch::mock::server* m;
        std::thread& t;
        ~mock_stopper()
        {
            if (m) m->stop();
            if (t.joinable()) t.join();
        }
    } stop_mock{mock.get(), mock_thread};
    cp.tls.ca_file = o.ca;
    cp.pool.max_connections = o.connections;
    cp.timeouts.total = std::chrono::milliseconds(o.timeout_ms);
    cp.timeouts.attempt = std::min(cp.timeouts.attempt, cp.timeouts.total);
    cp.timeouts.connect = std::min(cp.timeouts.connect, cp.timeouts.total);
    if (o.rate > 0) cp.rate_limit = {o.rate, o.burst > 0 ? o.burst : std::max(1.0, o.rate / 10)};

    sd::dispatch_params dp;
    dp.journal = o.journal;
    dp.default_app = o.app;
    dp.concurrency = o.concurrency;
    dp.intent_window = o.intent_window;
    dp.settle_delay = std::chrono::milliseconds(o.settle_ms);
    dp.clock_skew = std::chrono::milliseconds(o.skew_ms);
    dp.retry_failed = o.retry_failed;
    dp.synchronous = o.sync;
    if (o.commit_every_ms >= 0) dp.batch_latency = std::chrono::milliseconds(o.commit_every_ms);
    dp.journal_max_pages = o.max_pages;
    const bool tty = ::isatty(1) != 0;
    // The first lines that fail or are rejected, with their numbers, as they happen (all of them: --failures).
    std::uint64_t reported = 0;
    dp.on_line = [tty, &reported, &o](const sd::line_event& e) {
        if (e.state != sd::line_state::failed && e.state != sd::line_state::rejected) return;
        if (++reported > 10) {
            if (reported == 11)
                std::fprintf(stderr, "%ssmooch-dispatch: more lines failed or were rejected%s\n", tty ? "\r\x1b[K" : "",
                             o.failures.empty() ? " (--failures FILE lists them all)" : ", see the --failures file");
            return;
        }
        std::string why = e.description;
        if (e.state == sd::line_state::failed && e.status)
            why = "HTTP " + std::to_string(e.status) + (e.api_code.empty() ? "" : " " + e.api_code) + ": " + why;
        std::fprintf(stderr, "%ssmooch-dispatch: line %llu %s: %s\n", tty ? "\r\x1b[K" : "",
                     static_cast<unsigned long long>(e.line), sd::to_string(e.state), why.c_str());
    };
    dp.on_recovered = [tty](std::uint64_t lines, std::chrono::milliseconds took, std::uint64_t reads) {
        std::fprintf(
            stderr, "%ssmooch-dispatch: settled %llu lines an earlier run left in flight, in %lld ms with %llu reads\n",
            tty ? "\r\x1b[K" : "", static_cast<unsigned long long>(lines), static_cast<long long>(took.count()),
            static_cast<unsigned long long>(reads));
    };

    asio::io_context io(1);
    std::shared_ptr<smooch::redis::rate_source> shared_budget;
    struct budget_release {  // cp outlives io: its copy of the source must go first (its socket is on io)
        smooch::client_params& cp;
        ~budget_release() { cp.rate_source.reset(); }
    } release_budget{cp};
    if (!o.redis_url.empty()) {
        smooch::redis::rate_source_params rp;
        rp.url = o.redis_url;
        rp.key_prefix = o.redis_prefix;
        rp.username = o.redis_user;
        if (const char* pw = std::getenv("SMOOCH_REDIS_PASSWORD")) rp.password = pw;  // never a flag: ps shows those
        rp.rate = o.rate;
        rp.burst = cp.rate_limit.burst;
        rp.fallback_share = 1.0 / o.shards;
        rp.on_mode_change = [](bool shared, std::string_view why) {
            std::fprintf(stderr, "smooch-dispatch: %s%.*s\n", shared ? "" : "", static_cast<int>(why.size()),
                         why.data());
        };
        boost::system::error_code ec;
        shared_budget = smooch::redis::rate_source::create(io.get_executor(), rp, ec);
        if (!shared_budget) usage_error("--redis: " + ec.message());  // not the url: it could hold a password
        cp.rate_source = shared_budget;
        // The local limit is this process's ceiling: the whole budget, never more, even if Redis is wrong.
    }
    std::optional<smooch::client> client;
    try {
        client.emplace(io.get_executor(), cp);
    } catch (const std::exception& e) {
        std::cerr << "smooch-dispatch: " << e.what() << "\n";
        return 2;
    }
    sd::dispatcher d{*client, dp};
    const bool bar = !o.json && !o.no_progress && ::isatty(1);

    std::optional<sd::run_summary> summary;
    std::string fatal;
    int interrupts = 0;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    std::function<void()> arm = [&] {
        signals.async_wait([&](boost::system::error_code ec, int) {
            if (ec) return;
            if (++interrupts == 1) {
                std::fprintf(stderr,
                             "%ssmooch-dispatch: stopping: nothing new starts, posts in flight are settled "
                             "(Ctrl-C again to exit at once)\n",
                             bar ? "\r\x1b[K" : "");
                d.stop();
                arm();
            } else {
                std::fprintf(stderr,
                             "%ssmooch-dispatch: exiting at once; run again with the same --journal to "
                             "resume\n",
                             bar ? "\r\x1b[K" : "");
                std::fflush(stdout);
                ::_exit(130);  // like a crash: the journal is consistent at every commit
            }
        });
    };
    arm();

    asio::steady_timer tick(io);
    double rate = 0;
    auto last_done = d.counters().done();
    auto last_t = std::chrono::steady_clock::now();
    std::function<void()> draw = [&] {
        tick.expires_after(std::chrono::milliseconds(200));
        tick.async_wait([&](boost::system::error_code ec) {
            if (ec) return;
            const auto c = d.counters();
            const auto now = std::chrono::steady_clock::now();
            const double dt = std::chrono::duration<double>(now - last_t).count();
            if (dt > 0) {
                const double inst = static_cast<double>(c.done() - std::min(last_done, c.done())) / dt;
                rate = rate == 0 ? inst : 0.8 * rate + 0.2 * inst;  // smoothed: the ETA should not jump
            }
            last_done = c.done();
            last_t = now;
            sd::detail::progress_view v{c.done(), c.total, rate, c.failed + c.rejected, c.unknown};
            std::fputs(("\r" + sd::detail::render_progress(v, sd::detail::terminal_width(1)) + "\x1b[K").c_str(),
                       stdout);
            std::fflush(stdout);
            draw();
        });
    };
    if (bar) draw();

    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { summary = co_await d.run(*src); },
        [&](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& err) {
                    fatal = err.what();
                }
            }
            signals.cancel();
            tick.cancel();
            if (shared_budget) shared_budget->stop();
            client->shutdown();
        });
    io.run();
    if (bar) std::fputs("\r\x1b[K", stdout);
    if (!summary) {
        std::cerr << "smooch-dispatch: " << fatal << "\n";
        return 1;
    }
    std::uint64_t failures_written = 0;
    if (!o.failures.empty()) {
        std::ofstream f(o.failures, std::ios::trunc);
        if (!f) {
            std::cerr << "smooch-dispatch: cannot write " << o.failures << "\n";
        } else {
            try {
                failures_written = sd::write_failures(o.journal, *src, f);
            } catch (const std::exception& e) {
                std::cerr << "smooch-dispatch: writing " << o.failures << ": " << e.what() << "\n";
            }
        }
    }
    print_summary(o, *summary, failures_written, shared_budget.get());
    if (shared_budget && !o.json) {
        const auto st = shared_budget->stats();
        std::printf(
            "  redis       %llu calls (%.3f per post), %llu failures; granted shared %llu, fallback %llu; "
            "round trip p50 %llu us, p99 %llu us\n",
            static_cast<unsigned long long>(st.redis_calls),
            summary->counters.posts ? double(st.redis_calls) / double(summary->counters.posts) : 0.0,
            static_cast<unsigned long long>(st.redis_failures), static_cast<unsigned long long>(st.granted_shared),
            static_cast<unsigned long long>(st.granted_fallback), static_cast<unsigned long long>(st.round_trip_p50_us),
            static_cast<unsigned long long>(st.round_trip_p99_us));
    }
    if (summary->end == sd::run_end::completed) return 0;
    if (summary->end == sd::run_end::stopped) return 130;
    return 1;
}

}  // namespace

int main(int argc, char** argv)
{
    const options o = parse(argc, argv);
    if (o.command == "status") return status_command(o);
    return run_command(o);
}

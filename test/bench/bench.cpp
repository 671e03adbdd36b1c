// SPDX-License-Identifier: BSL-1.0
// smooch-bench as a user runs it: the program is spawned with flags and what it prints (stdout, stderr, exit
// status, files) is checked. Timed checks are the bounds only, with generous margins (a run asked for 2 s must
// end within a few seconds, not in the 10 s of a connect timeout or the minutes of a silent server).
// Needs SMOOCH_BENCH_EXE, the program's path (test/bench/CMakeLists.txt).

#define BOOST_TEST_MODULE smooch_bench
#include <boost/test/unit_test.hpp>

#include "hdr_histogram.hpp"
#include "text.hpp"

#include <smooch/mock/server.hpp>
#include <smooch/version.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef SMOOCH_BENCH_EXE
#error "SMOOCH_BENCH_EXE must name the smooch-bench program (test/bench/CMakeLists.txt)"
#endif

namespace json = boost::json;
using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

namespace {

struct run_result {
    int status = -1;  // exit status; -1 if killed by a signal or by the test's own time limit
    std::string out, err;
    double seconds = 0;
};

/// Runs program `exe` with `args`; sends SIGINT after `sigint_after` if given; kills it after `limit`.
run_result run_program(const char* exe, const std::vector<std::string>& args,
                       std::optional<clk::duration> sigint_after = {}, clk::duration limit = 120s)
{
    int out[2], err[2];
    BOOST_REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    BOOST_REQUIRE(pipe2(err, O_CLOEXEC) == 0);
    std::vector<std::string> all{exe};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    const auto t0 = clk::now();
    const pid_t pid = fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        execv(exe, argv.data());
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    run_result r;
    bool signalled = false;
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0 && clk::now() - t0 < limit) {
        if (sigint_after && !signalled && clk::now() - t0 >= *sigint_after) {
            kill(pid, SIGINT);
            signalled = true;
        }
        if (poll(fds, 2, 50) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
            char buf[4096];
            const ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
            } else if (n == 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    if (open_fds > 0) kill(pid, SIGKILL);  // over the test's limit
    for (auto& f : fds)
        if (f.fd >= 0) close(f.fd);
    int st = 0;
    waitpid(pid, &st, 0);
    r.seconds = std::chrono::duration<double>(clk::now() - t0).count();
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

run_result run_bench(const std::vector<std::string>& args, std::optional<clk::duration> sigint_after = {},
                     clk::duration limit = 120s)
{
    return run_program(SMOOCH_BENCH_EXE, args, sigint_after, limit);
}

/// The JSON object smooch-bench --json printed (its only stdout line).
json::object json_of(const run_result& r)
{
    boost::system::error_code ec;
    auto v = json::parse(r.out, ec);
    BOOST_TEST_REQUIRE(!ec, "not JSON: " << r.out << "\nstderr: " << r.err);
    BOOST_TEST_REQUIRE(v.is_object());
    return v.as_object();
}

std::uint64_t u64(const json::object& o, const char* key)
{
    BOOST_TEST_REQUIRE(o.contains(key), key);
    return o.at(key).to_number<std::uint64_t>();
}
double num(const json::object& o, const char* key)
{
    BOOST_TEST_REQUIRE(o.contains(key), key);
    return o.at(key).to_number<double>();
}

/// A TCP listener on 127.0.0.1 that accepts every connection and never sends or reads a byte.
struct silent_server {
    int fd = -1;
    unsigned short port = 0;
    std::atomic<bool> stop{false};
    std::vector<int> accepted;
    std::thread thread;
    silent_server()
    {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        BOOST_REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        BOOST_REQUIRE(listen(fd, 128) == 0);
        socklen_t len = sizeof a;
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
        thread = std::thread([this] {
            while (!stop) {
                pollfd p{fd, POLLIN, 0};
                if (poll(&p, 1, 50) > 0) {
                    const int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
                    if (c >= 0) accepted.push_back(c);
                }
            }
        });
    }
    ~silent_server()
    {
        stop = true;
        thread.join();
        for (int c : accepted) close(c);
        close(fd);
    }
};

/// A loopback port with nothing listening: bound once to get a free port, then closed.
unsigned short closed_port()
{
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
}

std::string temp_path(const std::string& name)
{
    return (std::filesystem::temp_directory_path() / ("smooch-test-bench-" + std::to_string(getpid()) + "-" + name))
        .string();
}

std::string read_all(const std::string& path)
{
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

/// Every number token of a JSON text (outside strings) is a plain decimal: digits, '-', '.', no exponent.
bool plain_decimals_only(std::string_view text)
{
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if ((c == 'e' || c == 'E') && i > 0 && std::isdigit(static_cast<unsigned char>(text[i - 1]))) {
            return false;
        }
    }
    return true;
}

/// The keys of an object, recursively, as "a", "a.b"…
void key_paths(const json::object& o, const std::string& prefix, std::set<std::string>& out)
{
    for (const auto& [k, v] : o) {
        const std::string p = prefix + std::string(k);
        if (p.rfind("errors.", 0) == 0) continue;  // the error counts are keyed by kind: as many as occurred
        out.insert(p);
        if (v.is_object()) key_paths(v.as_object(), p + ".", out);
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(silent_server_duration_is_a_hard_bound_and_failures_are_not_throughput)
{
    // Accepts and never answers: every TLS handshake hangs. The client's connect timeout (10 s) is longer than
    // the run; the duration (2 s) plus the grace (1 s) must end it, and nothing counts as delivered.
    silent_server srv;
    auto r = run_bench({"--url", "https://127.0.0.1:" + std::to_string(srv.port), "--insecure", "--duration", "2s",
                        "--concurrency", "8", "--connections", "4", "--json"});
    BOOST_TEST(r.seconds < 8.0, "a 2 s run took " << r.seconds << " s");
    BOOST_TEST(r.status == 1, r.err);
    auto j = json_of(r);
    BOOST_TEST(u64(j, "delivered") == 0u);
    BOOST_TEST(u64(j, "failed") >= 8u);
    BOOST_TEST(u64(j, "sent") == u64(j, "failed"));
    BOOST_TEST(num(j, "messages_per_s") == 0.0);
    BOOST_TEST(j.at("latency_ms").as_object().at("p50").is_null());  // no successful call: no latency
    BOOST_TEST(u64(j.at("errors").as_object(), "cancelled_at_end") == u64(j, "failed"));
    BOOST_TEST(u64(j, "cancelled_at_end") == u64(j, "failed"));
}

BOOST_AUTO_TEST_CASE(closed_port_reports_zero_messages_per_second_and_the_errors)
{
    auto r = run_bench(
        {"--url", "https://127.0.0.1:" + std::to_string(closed_port()), "--insecure", "--messages", "100", "--json"},
        {}, 60s);
    BOOST_TEST(r.status == 1, r.err);
    auto j = json_of(r);
    BOOST_TEST(u64(j, "sent") == 100u);
    BOOST_TEST(u64(j, "delivered") == 0u);
    BOOST_TEST(u64(j, "failed") == 100u);
    BOOST_TEST(num(j, "messages_per_s") == 0.0);
    // By kind: refused connects, and calls whose retries the retry budget stopped (each one's last error a refusal).
    std::uint64_t kinds = 0;
    for (const auto& [k, v] : j.at("errors").as_object()) kinds += v.to_number<std::uint64_t>();
    BOOST_TEST(kinds == 100u);
    bool refused = false;
    for (const auto& [k, v] : j.at("errors").as_object()) refused |= k.ends_with("connection_refused");
    BOOST_TEST(refused, json::serialize(j.at("errors")));
    BOOST_TEST(j.at("first_error").as_string().find("refused") != json::string::npos);
    // The text summary says the same, without a throughput figure.
    auto t = run_bench(
        {"--url", "https://127.0.0.1:" + std::to_string(closed_port()), "--insecure", "--messages", "20"}, {}, 60s);
    BOOST_TEST(t.out.find("0 messages/s: no call succeeded") != std::string::npos, t.out);
    BOOST_TEST(t.out.find("connection_refused") != std::string::npos, t.out);
}

BOOST_AUTO_TEST_CASE(open_loop_duration_bounds_the_schedule)
{
    // --rate 20 --duration 1s: 20 calls due in the first second, none after it (the old bench let 64 workers
    // take a sequence number each and wait for it, 3 s past the end).
    auto r = run_bench({"--rate", "20", "--duration", "1s", "--users", "3", "--json"});
    BOOST_TEST(r.status == 0, r.err);
    auto j = json_of(r);
    BOOST_TEST(u64(j, "sent") == 20u);
    BOOST_TEST(u64(j, "delivered") == 20u);
    BOOST_TEST(r.seconds < 6.0);
}

BOOST_AUTO_TEST_CASE(rate_not_achieved_is_a_warning_with_late_starts)
{
    // One call in flight cannot start 100 000 per second.
    auto r = run_bench({"--messages", "300", "--rate", "100000", "--concurrency", "1", "--connections", "1", "--users",
                        "2", "--json"});
    auto j = json_of(r);
    BOOST_TEST(u64(j, "late_starts") > 0u);
    BOOST_TEST(num(j, "achieved_rate") < 95000.0);
    const auto& w = j.at("warnings").as_array();
    BOOST_TEST_REQUIRE(w.size() >= 1u);
    BOOST_TEST(w[0].as_string().find("was not achieved") != json::string::npos, w[0].as_string());
    auto t = run_bench({"--messages", "300", "--rate", "100000", "--concurrency", "1", "--connections", "1"});
    BOOST_TEST(t.out.find("WARNING: --rate 100000/s was not achieved") != std::string::npos, t.out);
}

BOOST_AUTO_TEST_CASE(compare_with_rate_runs_the_peer_open_loop_and_not_wrk)
{
    auto r = run_bench({"--messages", "200", "--rate", "400", "--users", "5", "--concurrency", "8", "--connections",
                        "2", "--compare", "--json"});
    BOOST_TEST(r.status == 0, r.out << r.err);
    auto j = json_of(r);
    const auto& c = j.at("compare").as_object();
    BOOST_TEST(c.at("ran").as_bool());
    const auto& peer = c.at("peer").as_object();
    BOOST_TEST(peer.at("ran").as_bool());
    BOOST_TEST(peer.at("mode").as_string() == "open");
    BOOST_TEST(u64(peer, "delivered") == 200u);
    BOOST_TEST(peer.at("verified").as_bool());
    BOOST_TEST(!peer.at("latency_ms").as_object().at("p50").is_null());
    // An open-loop run is never compared with a closed-loop one: wrk is closed loop only.
    const auto& wrk = c.at("wrk").as_object();
    BOOST_TEST(!wrk.at("ran").as_bool());
    BOOST_TEST(wrk.at("note").as_string().find("closed loop only") != json::string::npos);
    // Nothing prints our own targets as pass/fail.
    auto t = run_bench({"--messages", "200", "--users", "5", "--concurrency", "8", "--connections", "2", "--compare"});
    BOOST_TEST(t.out.find("target") == std::string::npos, t.out);
    BOOST_TEST(t.out.find("libcurl peer   closed loop") != std::string::npos, t.out);
}

BOOST_AUTO_TEST_CASE(compare_after_a_duration_run_sends_the_same_calls)
{
    // The peer sends as many calls as we did, however much slower it is (it is not held to our duration), and
    // every one of its messages is verified.
    auto r = run_bench(
        {"--duration", "1s", "--users", "5", "--concurrency", "8", "--connections", "2", "--compare", "--json"});
    BOOST_TEST(r.status == 0, r.out << r.err);
    auto j = json_of(r);
    const auto& peer = j.at("compare").as_object().at("peer").as_object();
    BOOST_TEST(u64(peer, "delivered") == u64(j, "sent"));
    BOOST_TEST(peer.at("verified").as_bool());
    // With nothing delivered there is nothing to compare: the peer is not run, and the summary says why.
    auto bad = run_bench(
        {"--url", "https://127.0.0.1:" + std::to_string(closed_port()), "--insecure", "--messages", "3", "--compare"});
    BOOST_TEST(bad.out.find("compare: not run: no call succeeded") != std::string::npos, bad.out);
}

BOOST_AUTO_TEST_CASE(json_has_every_key_and_plain_decimals)
{
    auto ok = run_bench({"--messages", "300", "--users", "3", "--json"});
    BOOST_TEST(ok.status == 0, ok.err);
    BOOST_TEST(plain_decimals_only(ok.out), ok.out);
    auto j = json_of(ok);
    BOOST_TEST(u64(j, "schema_version") == 1u);
    BOOST_TEST(j.at("tool").as_string() == "smooch-bench");
    BOOST_TEST(j.at("version").as_string() == SMOOCH_VERSION_STRING);
    BOOST_TEST(j.at("timestamp").as_string().size() == 20u);  // 2026-12-02T05:00:00Z
    BOOST_TEST(u64(j, "delivered") == 300u);
    BOOST_TEST(u64(j, "failed") == 0u);
    BOOST_TEST(j.at("ok").as_bool());
    // A failing run (and an open-loop one) has exactly the same keys: every key is always present.
    auto bad = run_bench({"--url", "https://127.0.0.1:" + std::to_string(closed_port()), "--insecure", "--messages",
                          "5", "--rate", "100", "--json"});
    BOOST_TEST(plain_decimals_only(bad.out), bad.out);
    std::set<std::string> a, b;
    key_paths(j, "", a);
    key_paths(json_of(bad), "", b);
    BOOST_TEST(a == b, boost::test_tools::per_element());
    for (const char* key : {"sent", "delivered", "failed", "messages_per_s", "latency_ms.p99_9", "errors",
                            "verification.ok", "compare.peer.mode", "compare.wrk.ratio", "warnings", "rate"})
        BOOST_TEST(a.count(key) == 1u, key);
}

BOOST_AUTO_TEST_CASE(ctrl_c_prints_the_summary_of_what_completed)
{
    auto r = run_bench({"--duration", "60s", "--users", "5", "--concurrency", "8", "--connections", "2"}, 1500ms, 30s);
    BOOST_TEST(r.seconds < 15.0, "SIGINT at 1.5 s, ended at " << r.seconds << " s");
    BOOST_TEST(r.status == 130, r.err);
    BOOST_TEST(r.out.find("interrupted") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("  delivered ") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("verified: ") != std::string::npos, r.out);  // what was delivered, checked
    BOOST_TEST(r.out.find("NOT verified") == std::string::npos, r.out);
}

BOOST_AUTO_TEST_CASE(ctrl_c_against_a_silent_server_ends_after_the_grace)
{
    // Nothing ever completes: after SIGINT the calls in flight are left behind once the grace (1 s) is over, counted
    // as cancelled at the end, each with its outcome line, and the program ends (it does not wait for deadlines).
    silent_server srv;
    const auto path = temp_path("interrupted.jsonl");
    auto r = run_bench({"--url", "https://127.0.0.1:" + std::to_string(srv.port), "--insecure", "--duration", "60s",
                        "--timeout", "50s", "--concurrency", "6", "--connections", "3", "--json", "--outcomes", path},
                       1000ms, 30s);
    BOOST_TEST(r.seconds < 8.0, "SIGINT at 1 s, ended at " << r.seconds << " s");
    BOOST_TEST(r.status == 130, r.err);
    auto j = json_of(r);
    BOOST_TEST(j.at("interrupted").as_bool());
    BOOST_TEST(u64(j, "sent") == 6u);
    BOOST_TEST(u64(j, "failed") == 6u);
    BOOST_TEST(u64(j, "cancelled_at_end") == 6u);
    BOOST_TEST(u64(j.at("errors").as_object(), "cancelled_at_end") == 6u);
    std::ifstream f(path);
    std::string line;
    std::size_t lines = 0;
    while (std::getline(f, line)) {
        ++lines;
        BOOST_TEST(line.find("\"error\":\"cancelled_at_end\"") != std::string::npos, line);
    }
    BOOST_TEST(lines == 6u);
    std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(outcomes_file_has_one_json_line_per_call)
{
    const auto path = temp_path("outcomes.jsonl");
    auto r = run_bench({"--messages", "250", "--users", "4", "--outcomes", path});
    BOOST_TEST(r.status == 0, r.err);
    std::ifstream f(path);
    std::set<std::uint64_t> seqs;
    std::string line;
    std::size_t lines = 0;
    while (std::getline(f, line)) {
        ++lines;
        auto o = json::parse(line).as_object();
        seqs.insert(u64(o, "seq"));
        BOOST_TEST(u64(o, "status") == 201u);
        BOOST_TEST(o.at("error").is_null());
        BOOST_TEST(!o.at("outcome_unknown").as_bool());
        BOOST_TEST(o.at("applied").as_bool());  // a 201
        BOOST_TEST(u64(o, "attempts") >= 1u);
        BOOST_TEST(num(o, "latency_ms") > 0.0);
    }
    BOOST_TEST(lines == 250u);
    BOOST_TEST(seqs.size() == 250u);
    BOOST_TEST(*seqs.begin() == 1u);
    BOOST_TEST(*seqs.rbegin() == 250u);
    std::filesystem::remove(path);
    // Failed calls are there too, with their error's identifier.
    auto bad = run_bench({"--url", "https://127.0.0.1:" + std::to_string(closed_port()), "--insecure", "--messages",
                          "3", "--outcomes", path});
    const auto text = read_all(path);
    BOOST_TEST(text.find("\"error\":\"connection_refused\"") != std::string::npos, text);
    std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(spectrum_csv_and_plot_with_the_peer)
{
    const auto hgrm = temp_path("lat.hgrm"), csv = temp_path("lat.csv"), svg = temp_path("lat.svg");
    auto r = run_bench({"--messages", "600", "--users", "4", "--concurrency", "8", "--connections", "2", "--compare",
                        "--hgrm", hgrm, "--csv", csv, "--plot", svg});
    BOOST_TEST(r.status == 0, r.out << r.err);
    const auto h = read_all(hgrm), c = read_all(csv), p = read_all(svg);
    BOOST_TEST(h.rfind("       Value     Percentile TotalCount 1/(1-Percentile)\n\n", 0) == 0u, h);
    BOOST_TEST(h.find("#[Mean    =") != std::string::npos);
    BOOST_TEST(h.find("#[Max     =") != std::string::npos);
    BOOST_TEST(h.find(" 1.000000000000        600\n") != std::string::npos, h);  // the last line: 100 %, all 600
    BOOST_TEST(c.rfind("percentile,latency_ms,total_count\n", 0) == 0u, c);
    BOOST_TEST(c.find("\n100.000000,") != std::string::npos, c);
    BOOST_TEST(p.find("<svg") == 0u);
    BOOST_TEST(p.find("libcurl peer (600 calls)") != std::string::npos, "the peer's curve has a legend");
    BOOST_TEST(p.find("smooch-cpp (600 calls)") != std::string::npos);
    BOOST_TEST(p.find("closed loop") != std::string::npos, "the mode is in the title");
    BOOST_TEST(p.find("e+") == std::string::npos, "tick labels are plain numbers");
    for (const auto& f : {hgrm, csv, svg}) std::filesystem::remove(f);
}

/// smooch-mock on a thread of the test, rate limited as Smooch is (429 without Retry-After), TLS; auth off.
struct limited_mock {
    boost::asio::io_context io{1};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
    std::unique_ptr<smooch::mock::server> srv;
    std::thread thread;
    limited_mock(double rps, double burst)
    {
        smooch::mock::server_params p;
        p.tls = smooch::mock::generate_tls();
        p.rate = smooch::mock::rate_limit{rps, burst};
        p.max_recorded_requests = 0;
        srv = std::make_unique<smooch::mock::server>(io.get_executor(), p);
        srv->start();
        thread = std::thread([this] { io.run(); });
    }
    ~limited_mock()
    {
        boost::asio::post(io, [this] { srv->stop(); });
        guard.reset();
        thread.join();
    }
};

BOOST_AUTO_TEST_CASE(client_rate_matching_the_server_limit_gets_no_429)
{
    // The server allows 20 requests/s (burst 3). A closed-loop fan-out without a client-side limit runs into
    // it (429s); with --client-rate 20 it never does, and every message still arrives.
    limited_mock m(20, 3);
    const std::vector<std::string> common{"--url", m.srv->base_url(), "--insecure", "--messages",    "30", "--users",
                                          "3",     "--concurrency",   "8",          "--connections", "2",  "--json"};
    auto with = common;
    with.insert(with.end(), {"--client-rate", "20", "--user-prefix", "with-"});
    auto r = run_bench(with);
    BOOST_TEST(r.status == 0, r.out << r.err);
    auto j = json_of(r);
    BOOST_TEST(u64(j, "delivered") == 30u);
    BOOST_TEST(u64(j, "responses_429") == 0u);
    BOOST_TEST(u64(j, "gate_waits") > 0u);  // the client's own bucket held them
    BOOST_TEST(num(j, "client_rate") == 20.0);
    BOOST_TEST(num(j, "client_burst") == 1.0);
    BOOST_TEST(m.srv->record().rate_limited == 0u);

    auto without = common;
    without.insert(without.end(), {"--user-prefix", "without-"});
    auto w = run_bench(without);
    BOOST_TEST(w.status == 0, w.out << w.err);
    auto wj = json_of(w);
    BOOST_TEST(u64(wj, "delivered") == 30u);
    BOOST_TEST(u64(wj, "responses_429") > 0u);
    BOOST_TEST(wj.at("client_rate").is_null());
    // The server counted them too (and perhaps more: the read-back of the verification is not paced).
    BOOST_TEST(m.srv->record().rate_limited >= u64(wj, "responses_429"));

    for (auto bad : std::vector<std::vector<std::string>>{
             {"--client-rate", "0"}, {"--client-burst", "2"}, {"--client-rate", "5", "--client-burst", "0.5"}}) {
        auto b = run_bench(bad);
        BOOST_TEST(b.status == 2, bad[0]);
        BOOST_TEST(b.err.find("--client-") != std::string::npos, b.err);
    }
    auto help = run_bench({"--help"});
    BOOST_TEST(help.out.find("--client-rate R") != std::string::npos);
    BOOST_TEST(help.out.find("--client-burst B") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(flags_durations_with_units_and_version)
{
    auto v = run_bench({"--version"});
    BOOST_TEST(v.status == 0);
    BOOST_TEST(v.out == std::string("smooch-bench ") + SMOOCH_VERSION_STRING + "\n");
    auto ms = run_bench({"--duration", "500ms", "--users", "2", "--json"});
    BOOST_TEST(ms.status == 0, ms.err);
    BOOST_TEST(num(json_of(ms), "duration_s") == 0.5);
    for (auto bad : std::vector<std::vector<std::string>>{
             {"--duration", "3x"}, {"--timeout", "0"}, {"--grace", "-1s"}, {"--attempts", "0"}, {"--rate", "0"}}) {
        auto r = run_bench(bad);
        BOOST_TEST(r.status == 2, bad[0]);
        BOOST_TEST(r.err.find(bad[0] + ":") != std::string::npos, r.err);
    }
    auto help = run_bench({"--help"});
    for (const char* flag : {"--timeout", "--connect-timeout", "--attempt-timeout", "--attempts",
                             "--retry-unknown-outcome", "--grace", "--outcomes", "--hgrm", "--csv", "--latency"})
        BOOST_TEST(help.out.find(flag) != std::string::npos, flag);
}

BOOST_AUTO_TEST_CASE(every_bench_program_has_help_that_fits_80_columns_and_refuses_unknown_flags)
{
    for (const char* exe : {SMOOCH_BENCH_EXE, SMOOCH_CURL_PEER_EXE, SMOOCH_SOAK_CHECK_EXE, SMOOCH_BENCH_REDIS_EXE}) {
        BOOST_TEST_CONTEXT(exe)
        {
            const auto help = run_program(exe, {"--help"}, {}, 30s);
            BOOST_TEST(help.status == 0);
            BOOST_TEST(help.out.find("sage: ") != std::string::npos, help.out);  // Usage: or usage:
            const auto wide = smooch::test::lines_wider_than(help.out);
            BOOST_TEST(wide.empty(), smooch::test::first_of(wide));
            const auto bad = run_program(exe, {"--bogus", "1"}, {}, 30s);
            BOOST_TEST(bad.status == 2);
            BOOST_TEST(bad.err.find("--bogus") != std::string::npos, bad.err);
        }
    }
    // A value that is not wholly a number is refused, not read as its leading digits.
    const auto half = run_program(SMOOCH_BENCH_REDIS_EXE, {"--n", "5x"}, {}, 30s);
    BOOST_TEST(half.status == 2);
    BOOST_TEST(half.err.find("--n") != std::string::npos, half.err);
}

BOOST_AUTO_TEST_CASE(histogram_buckets_round_trip_and_spectrum_counts)
{
    // The peer sends its histogram as non-empty buckets; rebuilt, it gives the same percentiles.
    smooch::bench::hdr_histogram a, b;
    for (std::uint64_t v = 1000; v < 5'000'000; v = v * 11 / 10) a.record(v);
    for (std::size_t i = 0; i < smooch::bench::hdr_histogram::bucket_count; ++i) b.add_bucket(i, a.bucket(i));
    BOOST_TEST(b.count() == a.count());
    for (double p : {0.0, 50.0, 90.0, 99.0}) BOOST_TEST(b.percentile(p) == a.percentile(p));
    BOOST_TEST(a.count_at_or_below(a.max()) == a.count());
    BOOST_TEST(a.count_at_or_below(0) == 0u);
}

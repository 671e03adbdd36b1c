#pragma once
// smooch-bench's plumbing that needs no Asio: flags, the summary (text and JSON), the SVG plot, and the
// child processes of --compare (the libcurl peer and wrk). Kept out of smooch_bench.cpp so the Asio-heavy
// translation unit stays one.

#include "hdr_histogram.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace smooch::bench {

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct options {
    std::string url;  // empty: in-process smooch-mock
    std::string key_id, secret, jwt;
    std::string ca_file;
    bool insecure = false;
    std::string app = "app_bench";
    std::string user_prefix;     // empty: "bench-" in-process, "bench-<time>-<pid>-" with --url
    std::uint64_t messages = 0;  // set in parse_options; after a --duration run, the number actually sent
    double duration_s = 0;       // > 0: stop issuing new calls after this long (default 10 without --messages)
    std::size_t users = 100;
    std::size_t concurrency = 64;
    std::size_t connections = 16;
    double rate = 0;  // 0: closed loop
    bool verify = true;
    bool json = false;
    std::string plot;
    bool compare = false;
    bool help = false;
};

options parse_options(int argc, char** argv);  // throws usage_error
const char* usage_text();
std::string authorization_header(const options& o);  // "Basic …" / "Bearer …" / "" as the client sends it
std::string run_prefix();                            // unique user-id prefix for runs against --url

struct summary {
    std::uint64_t messages = 0;
    double seconds = 0, messages_per_s = 0;
    double cpu_us_per_msg = 0, process_cpu_us_per_msg = 0, mock_cpu_us_per_msg = 0;
    double system_cpu_us_per_msg = 0;  // the kernel's part of cpu_us_per_msg (syscalls, network stack)
    long peak_rss_kb = 0;
    std::uint64_t connections_opened = 0, connections_reused = 0, retries = 0, stale_replays = 0, errors = 0;
    std::map<std::string, std::uint64_t> error_kinds;
    std::string first_error;
    std::vector<std::pair<double, double>> latency_ms;  // (percentile, ms); 100 = max
    double latency_mean_ms = 0;
    // verification
    bool verified = false;
    std::uint64_t lost = 0, duplicated = 0, foreign = 0, metadata_mismatch = 0;
    std::string verify_text;
    // --compare
    bool peer_ok = false, peer_verified = false;
    double peer_messages_per_s = 0, peer_cpu_us_per_msg = 0;
    long peer_peak_rss_kb = 0;
    std::uint64_t peer_errors = 0;
    std::string peer_note;
    bool wrk_ran = false;
    double wrk_requests_per_s = 0;
    std::uint64_t wrk_non2xx = 0;
    std::string wrk_note;
};

void print_summary(const summary& s, bool in_process);
void print_compare(const summary& s);
std::string summary_json(const summary& s, const options& o, const std::string& url, bool in_process);
bool write_plot_svg(const std::string& path, const hdr_histogram& h, const options& o, std::string& err);

struct peer_target {
    std::string base_url, app, auth_header;
    std::string ca_pem;  // written to a temp file for the children
    std::string ca_file;
    bool insecure = false;
};
/// Runs bench/peers/curl_peer (found next to argv0) with the same N, M, C and K; fills s.peer_*.
bool run_peer(const char* argv0, const peer_target& t, const options& o, summary& s);
/// Runs wrk, if on PATH, for about the duration of our run; fills s.wrk_*.
void run_wrk(const peer_target& t, const options& o, summary& s, double our_seconds);

}  // namespace smooch::bench

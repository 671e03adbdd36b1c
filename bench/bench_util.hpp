// SPDX-License-Identifier: BSL-1.0
#pragma once
// smooch-bench's plumbing that needs no Asio, one file per concern, so the Asio-heavy translation unit
// (smooch_bench.cpp) stays one:
//   bench_options.cpp  flags, durations with units, --help
//   bench_report.cpp   the summary as text and JSON, the percentile spectrum (.hgrm) and CSV
//   bench_plot.cpp     the SVG latency plot
//   bench_peers.cpp    the child processes of --compare (the libcurl peer and wrk)

#include "hdr_histogram.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
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
    std::uint64_t messages = 0;  // a bound: the run sends at most this many (a --duration run decides as it goes)
    bool messages_given = false;
    double duration_s = 0;  // > 0: hard bound; no call starts after it (default 10 without --messages)
    double grace_s = 1;     // calls still in flight duration + grace after the start are cancelled
    double timeout_s = 10;  // per call: pool wait, attempts and backoffs (call_options::total_timeout)
    std::optional<double> connect_timeout_s, attempt_timeout_s;
    std::optional<unsigned> attempts;
    bool retry_unknown_outcome = false;
    std::size_t users = 100;
    std::size_t concurrency = 64;
    std::size_t connections = 16;
    double rate = 0;  // 0: closed loop
    // --client-rate / --client-burst: the client's own per-app token bucket (client_params::rate_limit);
    // 0: none, the client's default
    double client_rate = 0;
    std::optional<double> client_burst;  // unset: rate_limit_params' default (1)
    bool verify = true;
    bool json = false;
    bool latency = false;  // print the percentile spectrum after the summary
    std::string plot, outcomes, hgrm, csv;
    bool compare = false;
    bool help = false, version = false;
};

options parse_options(int argc, char** argv);  // throws usage_error
const char* usage_text();
/// "3s", "500ms", "2m", "1h" or a plain number of seconds ("1.5"), as seconds; nullopt if it is none of these.
std::optional<double> parse_duration(const std::string& v);
std::string authorization_header(const options& o);  // "Basic …" / "Bearer …" / "" as the client sends it
std::string run_prefix();                            // unique user-id prefix for runs against --url

/// One kind of failure: a stable identifier (`http_503`, `connection_refused`, `deadline_exceeded`,
/// `cancelled_at_end`…), how many calls failed so, and the first one's full description.
struct error_kind {
    std::uint64_t count = 0;
    std::string example;
};

struct latency_figures {
    bool any = false;  // false: no sample, every figure below is meaningless (JSON null)
    double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;  // ms
};
latency_figures figures_of(const hdr_histogram& h);

struct summary {
    // the run
    std::uint64_t sent = 0;       // calls started
    std::uint64_t delivered = 0;  // calls that succeeded (201)
    std::uint64_t failed = 0;     // calls that ended in an error, cancelled_at_end included
    std::uint64_t cancelled_at_end = 0, outcome_unknown = 0;
    bool interrupted = false;  // Ctrl-C (SIGINT) or SIGTERM ended the run
    double seconds = 0, messages_per_s = 0;
    double achieved_rate = 0;  // open loop: calls started per second of the schedule
    std::uint64_t late_starts = 0;
    double max_lateness_ms = 0;
    latency_figures latency, failed_latency;
    double cpu_us_per_msg = 0, process_cpu_us_per_msg = 0, mock_cpu_us_per_msg = 0;
    double system_cpu_us_per_msg = 0;  // the kernel's part of cpu_us_per_msg (syscalls, network stack)
    long peak_rss_kb = 0;
    std::uint64_t connections_opened = 0, connections_reused = 0, retries = 0, stale_replays = 0;
    std::uint64_t responses_429 = 0, gate_waits = 0;  // the client's counters: 429s received, calls held at a gate
    std::map<std::string, error_kind> errors;         // by stable identifier
    std::vector<std::string> warnings;                // e.g. --rate not achieved
    // verification
    bool verify_ran = false, verified = false;
    std::uint64_t lost = 0, duplicated = 0, foreign = 0, metadata_mismatch = 0, applied_though_failed = 0;
    std::string verify_text;
    // --compare
    bool compare_ran = false;
    std::string compare_note;  // why the peer or wrk did not run
    bool peer_ran = false, peer_ok = false, peer_verify_ran = false, peer_verified = false;
    std::string peer_mode;  // "closed" or "open"
    double peer_messages_per_s = 0, peer_cpu_us_per_msg = 0;
    long peer_peak_rss_kb = 0;
    std::uint64_t peer_delivered = 0, peer_errors = 0;
    std::string peer_note;
    hdr_histogram peer_latency;  // the peer's successful calls
    bool wrk_ran = false;
    double wrk_requests_per_s = 0;
    std::uint64_t wrk_non2xx = 0;
    std::string wrk_note;
    bool ok = false;  // exit status 0
};

void print_summary(const summary& s, const options& o, bool in_process);
void print_verification(const summary& s);
void print_compare(const summary& s);
std::string summary_json(const summary& s, const options& o, const std::string& url, bool in_process);
/// HdrHistogram's percentile distribution text (.hgrm, values in ms), as wrk2 --latency prints it.
std::string percentile_spectrum(const hdr_histogram& h);
/// The same spectrum as CSV: percentile,latency_ms,total_count.
std::string percentile_csv(const hdr_histogram& h);
bool write_file(const std::string& path, const std::string& content, std::string& err);
/// Latency by percentile, ours and (when it has samples) the peer's, with a legend; hand-written SVG.
std::string plot_svg(const hdr_histogram& ours, const hdr_histogram* peer, const options& o);

struct peer_target {
    std::string base_url, app, auth_header;
    std::string ca_pem;  // written to a temp file for the children
    std::string ca_file;
    bool insecure = false;
};
/// Runs bench/peers/curl_peer (found next to argv0) with the same N, M, C, K, rate and per-call timeout, bounded
/// by three times our run's wall time; fills s.peer_*.
bool run_peer(const char* argv0, const peer_target& t, const options& o, std::uint64_t n, double our_seconds,
              summary& s);
/// Runs wrk, if on PATH, for about the duration of our run; fills s.wrk_*. Closed loop only.
void run_wrk(const peer_target& t, const options& o, summary& s, double our_seconds);

}  // namespace smooch::bench

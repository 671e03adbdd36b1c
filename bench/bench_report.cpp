// SPDX-License-Identifier: BSL-1.0
// smooch-bench's output: the summary as text and JSON, the percentile spectrum and CSV (bench_util.hpp).

#include "bench_util.hpp"

#include <smooch/version.hpp>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>

namespace smooch::bench {

latency_figures figures_of(const hdr_histogram& h)
{
    latency_figures f;
    if (h.count() == 0) return f;
    auto ms = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e6; };
    f.any = true;
    f.p50 = ms(h.percentile(50));
    f.p90 = ms(h.percentile(90));
    f.p99 = ms(h.percentile(99));
    f.p999 = ms(h.percentile(99.9));
    f.max = ms(h.max());
    f.mean = h.mean() / 1e6;
    return f;
}

// ------------------------------------------------------------------------------------------------------- text

namespace {

/// Two lines that fit 80 columns: the percentiles, then the mean and what the figures are of.
void print_latency(const char* label, const latency_figures& f, const char* note)
{
    std::printf("  %-14s p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", label, f.p50, f.p90, f.p99, f.p999,
                f.max);
    std::printf("                 mean %.3f; %s\n", f.mean, note);
}

}  // namespace

void print_summary(const summary& s, const options& o, bool in_process)
{
    std::printf("  sent           %" PRIu64 " calls in %.2f s%s\n", s.sent, s.seconds,
                s.interrupted ? " (interrupted)" : "");
    std::printf("  delivered      %" PRIu64 "\n", s.delivered);
    std::printf("  failed         %" PRIu64, s.failed);
    const char* sep = ": ";
    if (s.cancelled_at_end) {
        std::printf("%s%" PRIu64 " cancelled at the end", sep, s.cancelled_at_end);
        sep = ", ";
    }
    if (s.outcome_unknown) std::printf("%s%" PRIu64 " with an unknown outcome", sep, s.outcome_unknown);
    std::printf("\n");
    if (s.delivered) {
        std::printf("  throughput     %.0f messages/s (delivered calls only, as is the latency)\n", s.messages_per_s);
        print_latency("latency ms", s.latency, "delivered calls only");
    } else {
        std::printf("  throughput     0 messages/s: no call succeeded\n");
    }
    if (s.failed) print_latency("failed ms", s.failed_latency, "time until each failed call ended");
    if (o.rate > 0)
        std::printf("  open loop      asked %.0f/s, started %.0f/s; %" PRIu64 " late starts (max %.3f ms late)\n",
                    o.rate, s.achieved_rate, s.late_starts, s.max_lateness_ms);
    std::printf("  client CPU     %.2f us/message (user %.2f + system %.2f), per call sent\n", s.cpu_us_per_msg,
                s.cpu_us_per_msg - s.system_cpu_us_per_msg, s.system_cpu_us_per_msg);
    std::printf("                 client thread, getrusage RUSAGE_THREAD\n");
    if (in_process)
        std::printf("                 process %.2f us/message = client + mock thread %.2f + other\n",
                    s.process_cpu_us_per_msg, s.mock_cpu_us_per_msg);
    std::printf("  peak RSS       %.1f MiB (whole process%s)\n", static_cast<double>(s.peak_rss_kb) / 1024.0,
                in_process ? ", the in-process mock's messages too" : "");
    std::printf("  connections    %" PRIu64 " opened, %" PRIu64 " reuses\n", s.connections_opened,
                s.connections_reused);
    std::printf("  retries        %" PRIu64 " (stale-connection replays %" PRIu64 ")\n", s.retries, s.stale_replays);
    std::printf("  throttling     %" PRIu64 " responses 429, %" PRIu64 " calls held at the app's gate\n",
                s.responses_429, s.gate_waits);
    if (o.client_rate > 0)
        std::printf("                 client-side limit %g requests/s per app, burst %g\n", o.client_rate,
                    o.client_burst.value_or(1));
    if (!s.errors.empty()) {
        std::printf("  errors by kind\n");
        for (const auto& [id, k] : s.errors)
            std::printf("    %-24s %8" PRIu64 "  first: %s\n", id.c_str(), k.count, k.example.c_str());
    }
    for (const auto& w : s.warnings) std::printf("WARNING: %s\n", w.c_str());
    std::fflush(stdout);
}

void print_verification(const summary& s)
{
    if (s.verify_ran) std::printf("%s\n", s.verify_text.c_str());
    std::fflush(stdout);
}

void print_compare(const summary& s)
{
    std::printf("compare (same server, calls, users, concurrency, connections and loop):\n");
    if (s.peer_ok) {
        std::printf("  libcurl peer   %s loop, %.0f messages/s, %.2f us/message CPU (process)\n", s.peer_mode.c_str(),
                    s.peer_messages_per_s, s.peer_cpu_us_per_msg);
        std::printf("                 peak RSS %.1f MiB, errors %" PRIu64 "%s\n",
                    static_cast<double>(s.peer_peak_rss_kb) / 1024.0, s.peer_errors,
                    !s.peer_verify_ran ? ""
                    : s.peer_verified  ? ", every message verified"
                                       : ", NOT every message verified");
        if (s.peer_latency.count()) {
            const auto f = figures_of(s.peer_latency);
            print_latency("peer latency", f, "delivered calls only");
        }
        std::printf("  ratio          CPU/message %.2fx libcurl's, messages/s %.2fx libcurl's\n",
                    s.cpu_us_per_msg / s.peer_cpu_us_per_msg, s.messages_per_s / s.peer_messages_per_s);
    } else {
        std::printf("  libcurl peer   %s\n", s.peer_note.c_str());
    }
    if (s.wrk_ran) {
        std::printf("  wrk            %.0f requests/s%s; ours %.2fx wrk's\n", s.wrk_requests_per_s,
                    s.wrk_non2xx ? (", " + std::to_string(s.wrk_non2xx) + " non-2xx").c_str() : "",
                    s.messages_per_s / s.wrk_requests_per_s);
        std::printf("                 (one fixed request, responses not parsed)\n");
    } else {
        std::printf("  wrk            not run: %s\n", s.wrk_note.c_str());
    }
    std::fflush(stdout);
}

// ------------------------------------------------------------------------------------------------------- JSON

namespace {

std::string jstr(std::string_view v)
{
    std::string o = "\"";
    for (char c : v) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            o += '\\';
            o += c;
        } else if (u < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", u);
            o += buf;
        } else {
            o += c;
        }
    }
    return o + "\"";
}

/// A plain decimal (never exponent notation), or null for a value that is not finite.
std::string jnum(double v, int decimals = 3)
{
    if (!std::isfinite(v)) return "null";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string jint(std::uint64_t v) { return std::to_string(v); }
std::string jbool(bool v) { return v ? "true" : "false"; }

/// A JSON object whose members keep the order they were added in.
struct jobj {
    std::string text = "{";
    jobj& add(std::string_view key, const std::string& raw)
    {
        if (text.size() > 1) text += ',';
        text += jstr(key);
        text += ':';
        text += raw;
        return *this;
    }
    std::string str() const { return text + "}"; }
};

std::string latency_json(const latency_figures& f)
{
    auto v = [&](double x) { return f.any ? jnum(x) : std::string("null"); };
    return jobj{}
        .add("p50", v(f.p50))
        .add("p90", v(f.p90))
        .add("p99", v(f.p99))
        .add("p99_9", v(f.p999))
        .add("max", v(f.max))
        .add("mean", v(f.mean))
        .str();
}

std::string utc_timestamp()
{
    const std::time_t now = std::time(nullptr);
    std::tm t{};
    gmtime_r(&now, &t);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &t);
    return buf;
}

}  // namespace

std::string summary_json(const summary& s, const options& o, const std::string& url, bool in_process)
{
    // Schema version 1: every key is always present (null when it does not apply); numbers are plain decimals.
    const std::string null = "null";
    auto ratio = [&](double a, double b) { return b > 0 ? jnum(a / b) : null; };
    jobj errors;
    for (const auto& [id, k] : s.errors) errors.add(id, jint(k.count));
    std::string first_error = null;
    if (!s.errors.empty()) first_error = jstr(s.errors.begin()->second.example);
    std::string warnings = "[";
    for (const auto& w : s.warnings) warnings += (warnings.size() > 1 ? "," : "") + jstr(w);
    warnings += "]";

    jobj verification;
    verification.add("ran", jbool(s.verify_ran))
        .add("ok", s.verify_ran ? jbool(s.verified) : null)
        .add("lost", jint(s.lost))
        .add("duplicated", jint(s.duplicated))
        .add("applied_though_failed", jint(s.applied_though_failed))
        .add("foreign", jint(s.foreign))
        .add("metadata_mismatch", jint(s.metadata_mismatch))
        .add("text", s.verify_ran ? jstr(s.verify_text) : null);

    jobj peer;
    peer.add("ran", jbool(s.peer_ran))
        .add("ok", jbool(s.peer_ok))
        .add("mode", s.peer_ran ? jstr(s.peer_mode) : null)
        .add("delivered", jint(s.peer_delivered))
        .add("errors", jint(s.peer_errors))
        .add("messages_per_s", s.peer_ok ? jnum(s.peer_messages_per_s, 1) : null)
        .add("cpu_us_per_message", s.peer_ok ? jnum(s.peer_cpu_us_per_msg) : null)
        .add("peak_rss_kb", s.peer_ok ? jint(static_cast<std::uint64_t>(s.peer_peak_rss_kb)) : null)
        .add("latency_ms", latency_json(figures_of(s.peer_latency)))
        .add("verified", jbool(s.peer_verified))
        .add("cpu_ratio", s.peer_ok ? ratio(s.cpu_us_per_msg, s.peer_cpu_us_per_msg) : null)
        .add("throughput_ratio", s.peer_ok ? ratio(s.messages_per_s, s.peer_messages_per_s) : null)
        .add("note", s.peer_note.empty() ? null : jstr(s.peer_note));
    jobj wrk;
    wrk.add("ran", jbool(s.wrk_ran))
        .add("requests_per_s", s.wrk_ran ? jnum(s.wrk_requests_per_s, 1) : null)
        .add("non2xx", jint(s.wrk_non2xx))
        .add("ratio", s.wrk_ran ? ratio(s.messages_per_s, s.wrk_requests_per_s) : null)
        .add("note", s.wrk_note.empty() ? null : jstr(s.wrk_note));
    jobj compare;
    compare.add("ran", jbool(s.compare_ran))
        .add("note", s.compare_note.empty() ? null : jstr(s.compare_note))
        .add("peer", peer.str())
        .add("wrk", wrk.str());

    jobj j;
    j.add("schema_version", "1")
        .add("tool", jstr("smooch-bench"))
        .add("version", jstr(SMOOCH_VERSION_STRING))
        .add("timestamp", jstr(utc_timestamp()))
        .add("server", jstr(url))
        .add("in_process_mock", jbool(in_process))
        .add("mode", jstr(o.rate > 0 ? "open" : "closed"))
        .add("rate", o.rate > 0 ? jnum(o.rate, 1) : null)
        .add("achieved_rate", o.rate > 0 ? jnum(s.achieved_rate, 1) : null)
        .add("late_starts", jint(s.late_starts))
        .add("users", jint(o.users))
        .add("concurrency", jint(o.concurrency))
        .add("connections", jint(o.connections))
        .add("duration_s", o.duration_s > 0 ? jnum(o.duration_s) : null)
        .add("grace_s", jnum(o.grace_s))
        .add("timeout_s", jnum(o.timeout_s))
        .add("interrupted", jbool(s.interrupted))
        .add("sent", jint(s.sent))
        .add("delivered", jint(s.delivered))
        .add("failed", jint(s.failed))
        .add("cancelled_at_end", jint(s.cancelled_at_end))
        .add("outcome_unknown", jint(s.outcome_unknown))
        .add("seconds", jnum(s.seconds))
        .add("messages_per_s", jnum(s.messages_per_s, 1))
        .add("latency_ms", latency_json(s.latency))
        .add("failed_latency_ms", latency_json(s.failed_latency))
        .add("client_cpu_us_per_message", s.sent ? jnum(s.cpu_us_per_msg) : null)
        .add("client_system_cpu_us_per_message", s.sent ? jnum(s.system_cpu_us_per_msg) : null)
        .add("cpu_source", jstr("getrusage(RUSAGE_THREAD) of the client thread, per call sent"))
        .add("process_cpu_us_per_message", s.sent ? jnum(s.process_cpu_us_per_msg) : null)
        .add("mock_cpu_us_per_message", in_process && s.sent ? jnum(s.mock_cpu_us_per_msg) : null)
        .add("peak_rss_kb", jint(static_cast<std::uint64_t>(s.peak_rss_kb)))
        .add("connections_opened", jint(s.connections_opened))
        .add("connections_reused", jint(s.connections_reused))
        .add("retries", jint(s.retries))
        .add("stale_replays", jint(s.stale_replays))
        .add("client_rate", o.client_rate > 0 ? jnum(o.client_rate, 1) : null)
        .add("client_burst", o.client_rate > 0 ? jnum(o.client_burst.value_or(1), 1) : null)
        .add("responses_429", jint(s.responses_429))
        .add("gate_waits", jint(s.gate_waits))
        .add("errors", errors.str())
        .add("first_error", first_error)
        .add("warnings", warnings)
        .add("verification", verification.str())
        .add("compare", compare.str())
        .add("ok", jbool(s.ok));
    return j.str();
}

// -------------------------------------------------------------------------------------- percentile spectrum

namespace {

/// Calls f(percentile 0..100, value ns, total count up to it, last) at HdrHistogram's reporting levels: 5 ticks
/// per half distance to 100 % (0, 10, 20 … 50, 55 … 75, 77.5 …), until the maximum.
template <class F>
void for_each_level(const hdr_histogram& h, F&& f)
{
    const std::uint64_t total = h.count();
    if (total == 0) return;
    double p = 0;
    for (int guard = 0; guard < 100000; ++guard) {
        const std::uint64_t v = h.percentile(p);
        const std::uint64_t n = std::min(h.count_at_or_below(v), total);
        if (n >= total || p >= 100) {
            f(100.0, h.max(), total, true);
            return;
        }
        f(p, v, n, false);
        const double half_distance = std::pow(2.0, std::floor(std::log2(100.0 / (100.0 - p))) + 1);
        p += 100.0 / (5 * half_distance);
    }
}

}  // namespace

std::string percentile_spectrum(const hdr_histogram& h)
{
    std::string out;
    char line[128];
    std::snprintf(line, sizeof line, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
                  "1/(1-Percentile)");
    out += line;
    for_each_level(h, [&](double p, std::uint64_t v, std::uint64_t n, bool last) {
        const double ms = static_cast<double>(v) / 1e6, q = p / 100;
        if (last) std::snprintf(line, sizeof line, "%12.3f %2.12f %10" PRIu64 "\n", ms, q, n);
        else std::snprintf(line, sizeof line, "%12.3f %2.12f %10" PRIu64 " %14.2f\n", ms, q, n, 1 / (1 - q));
        out += line;
    });
    std::snprintf(line, sizeof line, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", h.mean() / 1e6,
                  h.stddev() / 1e6);
    out += line;
    std::snprintf(line, sizeof line, "#[Max     = %12.3f, Total count    = %12" PRIu64 "]\n",
                  static_cast<double>(h.max()) / 1e6, h.count());
    out += line;
    std::snprintf(line, sizeof line, "#[Buckets = %12zu, SubBuckets     = %12" PRIu64 "]\n",
                  hdr_histogram::bucket_count / hdr_histogram::sub_count, hdr_histogram::sub_count);
    out += line;
    return out;
}

std::string percentile_csv(const hdr_histogram& h)
{
    std::string out = "percentile,latency_ms,total_count\n";
    char line[96];
    for_each_level(h, [&](double p, std::uint64_t v, std::uint64_t n, bool) {
        std::snprintf(line, sizeof line, "%.6f,%.3f,%" PRIu64 "\n", p, static_cast<double>(v) / 1e6, n);
        out += line;
    });
    return out;
}

bool write_file(const std::string& path, const std::string& content, std::string& err)
{
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << content;
    if (!f.flush()) {
        err = "cannot write " + path;
        return false;
    }
    return true;
}

}  // namespace smooch::bench

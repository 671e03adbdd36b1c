// SPDX-License-Identifier: BSL-1.0
// smooch-bench's flags (bench_util.hpp).

#include "bench_util.hpp"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>

namespace smooch::bench {

const char* usage_text()
{
    return R"(Usage: smooch-bench [options]

Fans out post_message calls and prints throughput and latency of the calls that
succeeded, the failed ones apart (counted by kind), client CPU per message, peak
RSS, connections and retries; then checks that every delivered message arrived
exactly once. With no --url it starts smooch-mock in-process over TLS on its own
thread. Durations take units: 500ms, 3s, 2m, 1h (a plain number is seconds).

Server:
  --url URL              measure this server instead of the in-process mock
                         (https://host[:port])
  --key-id ID            Basic credentials (with --secret)
  --secret S
  --jwt TOKEN            send "Authorization: Bearer TOKEN" instead
  --ca FILE              PEM file of CAs to trust (default: the system store)
  --insecure             do not verify the server certificate (never against a
                         real server)
  --app ID               app id to post to (default app_bench)
  --user-prefix P        user ids are P0..P(M-1) (default bench-, or
                         bench-<time>-<pid>- with --url)
Load:
  --messages N           messages to send (default: as many as fit in
                         --duration)
  --duration D           hard bound: no call starts after D, and every call's
                         deadline is D + grace at the latest (default 10s when
                         --messages is not given; with both, whichever ends
                         first)
  --grace D              how long calls in flight at the end of --duration (or
                         at Ctrl-C) may still finish (default 1s)
  --users M              spread over M users (default 100)
  --concurrency C        calls in flight (default 64)
  --connections K        connection pool size (default 16)
  --rate R               open loop at R messages/s; latency counts from each
                         message's intended send time (coordinated omission
                         corrected). Default: closed loop
  --client-rate R        the client's own rate limit: at most R requests/s per
                         app (rate_limit_params), so a server's limit of R is
                         never exceeded. Default: none
  --client-burst B       that limit's bucket size, in requests (default 1; needs
                         --client-rate)
Calls (the client's knobs):
  --timeout D            per call: pool wait, every attempt and backoff (default
                         10s)
  --connect-timeout D    TCP connect + TLS handshake (default: the client's,
                         10s)
  --attempt-timeout D    one request/response exchange (default: the client's,
                         30s)
  --attempts N           attempts per call, the first included (default: the
                         client's, 4)
  --retry-unknown-outcome  also retry a post whose outcome is unknown (may
                           duplicate messages)
Output:
  --no-verify-delivery   skip the exactly-once check (for servers that cannot be
                         read back)
  --json                 print one JSON summary object on stdout and nothing
                         else there
  --latency              print the latency percentile spectrum (HdrHistogram
                         format) after the summary
  --hgrm FILE            write that spectrum to FILE (.hgrm, for HdrHistogram's
                         plotter)
  --csv FILE             write it as CSV: percentile,latency_ms,total_count
  --plot FILE.svg        write the latency percentile curve (with the peer's
                         under --compare) as SVG
  --outcomes FILE        one JSON line per message: seq, status, error,
                         outcome_unknown, attempts, latency_ms (to audit a
                         server's record against what the client saw)
  --compare              also run the libcurl peer (smooch-bench-curl-peer, next
                         to this binary) and, closed loop only, wrk if on PATH,
                         against the same server; print our ratios
  --help                 this text
  --version              print "smooch-bench VERSION"

Ctrl-C stops the run: nothing more starts, calls still in flight after the grace
are left behind, and the summary of what completed is printed (a second Ctrl-C
ends the program at once).
Exit status: 0 every call succeeded and every delivered message arrived once;
1 failed calls or a failed verification; 2 bad usage; 130 interrupted.
)";
}

namespace {

template <class T>
T parse_number(const std::string& flag, const std::string& v, T min_value)
{
    T out{};
    const char* b = v.data();
    const char* e = b + v.size();
    auto [p, ec] = std::from_chars(b, e, out);
    if (ec != std::errc() || p != e) throw usage_error(flag + ": '" + v + "' is not a valid number");
    if (out < min_value) throw usage_error(flag + ": must be at least " + std::to_string(min_value));
    return out;
}

double parse_double(const std::string& flag, const std::string& v)
{
    char* end = nullptr;
    errno = 0;
    double d = std::strtod(v.c_str(), &end);
    if (v.empty() || end != v.c_str() + v.size() || errno != 0 || !std::isfinite(d) || d <= 0)
        throw usage_error(flag + ": '" + v + "' is not a positive number");
    return d;
}

/// A duration flag within (0, max_s] (or [0, max_s] when `zero_ok`), in seconds.
double duration_flag(const std::string& flag, const std::string& v, double max_s, bool zero_ok = false)
{
    auto d = parse_duration(v);
    if (!d) throw usage_error(flag + ": '" + v + "' is not a duration (e.g. 500ms, 3s, 2m)");
    if (*d < 0 || (*d == 0 && !zero_ok) || *d > max_s)
        throw usage_error(flag + ": must be " + (zero_ok ? "0" : "more than 0") + " to " +
                          std::to_string(static_cast<long long>(max_s)) + " s, got " + v);
    return *d;
}

std::string base64(std::string_view in)
{
    static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    auto byte = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(in[k])); };
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        for (int shift : {18, 12, 6, 0}) out += tbl[(v >> shift) & 63];
    }
    if (i + 1 == in.size()) {
        const unsigned v = byte(i) << 16;
        out += tbl[(v >> 18) & 63];
        out += tbl[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        const unsigned v = (byte(i) << 16) | (byte(i + 1) << 8);
        out += tbl[(v >> 18) & 63];
        out += tbl[(v >> 12) & 63];
        out += tbl[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

}  // namespace

std::optional<double> parse_duration(const std::string& v)
{
    std::size_t digits = 0;
    while (digits < v.size() && (std::isdigit(static_cast<unsigned char>(v[digits])) || v[digits] == '.')) ++digits;
    if (digits == 0) return std::nullopt;
    const std::string number = v.substr(0, digits), unit = v.substr(digits);
    char* end = nullptr;
    errno = 0;
    const double d = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size() || errno != 0 || !std::isfinite(d)) return std::nullopt;
    if (unit.empty() || unit == "s") return d;
    if (unit == "ms") return d / 1000;
    if (unit == "m") return d * 60;
    if (unit == "h") return d * 3600;
    return std::nullopt;
}

options parse_options(int argc, char** argv)
{
    options o;
    bool duration_given = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw usage_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--help" || a == "-h") o.help = true;
        else if (a == "--version") o.version = true;
        else if (a == "--url") o.url = value();
        else if (a == "--key-id") o.key_id = value();
        else if (a == "--secret") o.secret = value();
        else if (a == "--jwt") o.jwt = value();
        else if (a == "--ca") o.ca_file = value();
        else if (a == "--insecure") o.insecure = true;
        else if (a == "--app") o.app = value();
        else if (a == "--user-prefix") o.user_prefix = value();
        else if (a == "--messages") {
            o.messages = parse_number<std::uint64_t>(a, value(), 1);
            o.messages_given = true;
        } else if (a == "--duration") {
            o.duration_s = duration_flag(a, value(), 86400);
            duration_given = true;
        } else if (a == "--grace") o.grace_s = duration_flag(a, value(), 3600, true);
        else if (a == "--timeout") o.timeout_s = duration_flag(a, value(), 86400);
        else if (a == "--connect-timeout") o.connect_timeout_s = duration_flag(a, value(), 86400);
        else if (a == "--attempt-timeout") o.attempt_timeout_s = duration_flag(a, value(), 86400);
        else if (a == "--attempts") o.attempts = parse_number<unsigned>(a, value(), 1);
        else if (a == "--retry-unknown-outcome") o.retry_unknown_outcome = true;
        else if (a == "--users") o.users = parse_number<std::size_t>(a, value(), 1);
        else if (a == "--concurrency") o.concurrency = parse_number<std::size_t>(a, value(), 1);
        else if (a == "--connections") o.connections = parse_number<std::size_t>(a, value(), 1);
        else if (a == "--rate") o.rate = parse_double(a, value());
        else if (a == "--client-rate") o.client_rate = parse_double(a, value());
        else if (a == "--client-burst") o.client_burst = parse_double(a, value());
        else if (a == "--no-verify-delivery") o.verify = false;
        else if (a == "--json") o.json = true;
        else if (a == "--latency") o.latency = true;
        else if (a == "--plot") o.plot = value();
        else if (a == "--hgrm") o.hgrm = value();
        else if (a == "--csv") o.csv = value();
        else if (a == "--outcomes") o.outcomes = value();
        else if (a == "--compare") o.compare = true;
        else throw usage_error("unknown option '" + a + "'");
    }
    if (o.help || o.version) return o;
    if (!o.messages_given) {
        o.messages = 1'000'000'000;  // a bound, not a target: the duration ends the run
        if (!duration_given) o.duration_s = 10;
    }
    if (o.key_id.empty() != o.secret.empty()) throw usage_error("--key-id and --secret go together");
    if (!o.jwt.empty() && !o.key_id.empty()) throw usage_error("--jwt excludes --key-id/--secret");
    if (o.url.empty() && (!o.key_id.empty() || !o.jwt.empty() || !o.ca_file.empty()))
        throw usage_error("--key-id, --secret, --jwt and --ca need --url (the in-process mock has its own)");
    if (!o.ca_file.empty() && o.insecure) throw usage_error("--ca excludes --insecure");
    if (!o.plot.empty() && !(o.plot.size() > 4 && o.plot.substr(o.plot.size() - 4) == ".svg"))
        throw usage_error("--plot: only .svg output is supported");
    if (o.users > 1000000) throw usage_error("--users: at most 1000000");
    if (o.concurrency > 100000) throw usage_error("--concurrency: at most 100000");
    if (o.rate > 10'000'000) throw usage_error("--rate: at most 10000000 messages/s");
    if (o.client_rate > 10'000'000) throw usage_error("--client-rate: at most 10000000 requests/s");
    if (o.client_burst && o.client_rate <= 0) throw usage_error("--client-burst needs --client-rate");
    if (o.client_burst && *o.client_burst < 1) throw usage_error("--client-burst: must be at least 1");
    if (o.json && o.latency) throw usage_error("--latency prints text: use --hgrm FILE with --json");
    return o;
}

std::string authorization_header(const options& o)
{
    if (!o.jwt.empty()) return "Bearer " + o.jwt;
    if (!o.key_id.empty()) return "Basic " + base64(o.key_id + ":" + o.secret);
    return {};
}

std::string run_prefix()
{
    return "bench-" + std::to_string(std::time(nullptr)) + "-" + std::to_string(getpid()) + "-";
}

}  // namespace smooch::bench

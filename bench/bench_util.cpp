// smooch-bench plumbing without Asio: flags, output, plot, child processes. See bench_util.hpp.

#include "bench_util.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>

extern char** environ;

namespace smooch::bench {

// ------------------------------------------------------------------------------------------------- flags

const char* usage_text()
{
    return R"(Usage: smooch-bench [options]

Fans out post_message calls, prints throughput, latency percentiles, client CPU per message, peak RSS,
connections, retries and errors, then checks that every message arrived exactly once.
With no --url it starts smooch-mock in-process over TLS on its own thread.

Server:
  --url URL            measure this server instead of the in-process mock (https://host[:port])
  --key-id ID          Basic credentials (with --secret)
  --secret S
  --jwt TOKEN          send "Authorization: Bearer TOKEN" instead
  --ca FILE            PEM file of CAs to trust (default: the system store)
  --insecure           do not verify the server certificate (never against a real server)
  --app ID             app id to post to (default app_bench)
  --user-prefix P      user ids are P0..P(M-1) (default bench-, or bench-<time>-<pid>- with --url)
Load:
  --messages N         messages to send (default: as many as fit in --duration)
  --duration S         stop starting new calls after S seconds (default 10 when --messages is not
                       given; with both, whichever comes first)
  --users M            spread over M users (default 100)
  --concurrency C      calls in flight (default 64)
  --connections K      connection pool size (default 16)
  --rate R             open loop at R messages/s; latency counts from each message's intended
                       send time (coordinated omission corrected). Default: closed loop
Output:
  --no-verify-delivery skip the exactly-once check (for servers that cannot be read back)
  --json               print one JSON summary object on stdout and nothing else there
  --plot FILE.svg      write the latency percentile curve as SVG
  --compare            also run the libcurl peer (smooch-bench-curl-peer, next to this binary) and,
                       if on PATH, wrk against the same server; print our ratios to the peer's
  --help               this text

Exit status: 0 all delivered and no errors, 1 errors or failed verification, 2 bad usage.
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

std::string base64(std::string_view in)
{
    static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = (static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16) |
                           (static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8) |
                           static_cast<unsigned>(static_cast<unsigned char>(in[i + 2]));
        out += tbl[(v >> 18) & 63];
        out += tbl[(v >> 12) & 63];
        out += tbl[(v >> 6) & 63];
        out += tbl[v & 63];
    }
    if (i + 1 == in.size()) {
        const unsigned v = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16;
        out += tbl[(v >> 18) & 63];
        out += tbl[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        const unsigned v = (static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16) |
                           (static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8);
        out += tbl[(v >> 18) & 63];
        out += tbl[(v >> 12) & 63];
        out += tbl[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

}  // namespace

options parse_options(int argc, char** argv)
{
    options o;
    bool messages_given = false, duration_given = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw usage_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--help" || a == "-h") o.help = true;
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
            messages_given = true;
        } else if (a == "--duration") {
            o.duration_s = parse_double(a, value());
            if (!(o.duration_s > 0 && o.duration_s <= 86400)) throw usage_error("--duration: between 0 and 86400 s");
            duration_given = true;
        } else if (a == "--users") o.users = parse_number<std::size_t>(a, value(), 1);
        else if (a == "--concurrency") o.concurrency = parse_number<std::size_t>(a, value(), 1);
        else if (a == "--connections") o.connections = parse_number<std::size_t>(a, value(), 1);
        else if (a == "--rate") o.rate = parse_double(a, value());
        else if (a == "--no-verify-delivery") o.verify = false;
        else if (a == "--json") o.json = true;
        else if (a == "--plot") o.plot = value();
        else if (a == "--compare") o.compare = true;
        else throw usage_error("unknown option '" + a + "'");
    }
    if (o.help) return o;
    if (!messages_given) {
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

// ------------------------------------------------------------------------------------------------ output

void print_summary(const summary& s, bool in_process)
{
    std::printf("  messages       %" PRIu64 " in %.2f s\n", s.messages, s.seconds);
    std::printf("  throughput     %.0f messages/s\n", s.messages_per_s);
    std::printf("  latency ms     p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (mean %.3f)\n",
                s.latency_ms[0].second, s.latency_ms[1].second, s.latency_ms[2].second, s.latency_ms[3].second,
                s.latency_ms[4].second, s.latency_mean_ms);
    std::printf("  client CPU     %.2f us/message (user %.2f + system %.2f; client thread, getrusage RUSAGE_THREAD)\n",
                s.cpu_us_per_msg, s.cpu_us_per_msg - s.system_cpu_us_per_msg, s.system_cpu_us_per_msg);
    if (in_process)
        std::printf("                 process %.2f us/message = client thread + mock thread %.2f + other\n",
                    s.process_cpu_us_per_msg, s.mock_cpu_us_per_msg);
    std::printf("  peak RSS       %.1f MiB (whole process%s)\n", static_cast<double>(s.peak_rss_kb) / 1024.0,
                in_process ? ", in-process mock and its stored messages included" : "");
    std::printf("  connections    %" PRIu64 " opened, %" PRIu64 " reuses\n", s.connections_opened,
                s.connections_reused);
    std::printf("  retries        %" PRIu64 " (stale-connection replays %" PRIu64 ")\n", s.retries, s.stale_replays);
    std::printf("  errors         %" PRIu64 "\n", s.errors);
    for (const auto& [kind, count] : s.error_kinds) std::printf("    %8" PRIu64 "  %s\n", count, kind.c_str());
    if (!s.first_error.empty()) std::printf("    first: %s\n", s.first_error.c_str());
    std::fflush(stdout);
}

void print_compare(const summary& s)
{
    std::printf("compare (same server, same N, users, concurrency and connections):\n");
    if (s.peer_ok) {
        std::printf(
            "  libcurl peer   %.0f messages/s, %.2f us/message CPU (process), peak RSS %.1f MiB, errors %" PRIu64
            "%s\n",
            s.peer_messages_per_s, s.peer_cpu_us_per_msg, static_cast<double>(s.peer_peak_rss_kb) / 1024.0,
            s.peer_errors, s.peer_verified ? ", verified" : "");
        std::printf("  ratio          CPU/message %.2fx libcurl's (target <= 0.5), messages/s %.2fx libcurl's\n",
                    s.cpu_us_per_msg / s.peer_cpu_us_per_msg, s.messages_per_s / s.peer_messages_per_s);
    } else {
        std::printf("  libcurl peer   failed: %s\n", s.peer_note.c_str());
    }
    if (s.wrk_ran) {
        std::printf("  wrk            %.0f requests/s (ceiling%s); ours %.2fx wrk's (target >= 0.9)\n",
                    s.wrk_requests_per_s,
                    s.wrk_non2xx ? (", " + std::to_string(s.wrk_non2xx) + " non-2xx").c_str() : "",
                    s.messages_per_s / s.wrk_requests_per_s);
    } else {
        std::printf("  wrk            not run: %s\n", s.wrk_note.c_str());
    }
    std::fflush(stdout);
}

std::string summary_json(const summary& s, const options& o, const std::string& url, bool in_process)
{
    boost::json::object j;
    j["server"] = url;
    j["in_process_mock"] = in_process;
    j["messages"] = s.messages;
    j["users"] = o.users;
    j["concurrency"] = o.concurrency;
    j["connections"] = o.connections;
    j["mode"] = o.rate > 0 ? "open" : "closed";
    if (o.rate > 0) j["rate"] = o.rate;
    j["seconds"] = s.seconds;
    j["messages_per_s"] = s.messages_per_s;
    boost::json::object lat;
    const char* names[] = {"p50", "p90", "p99", "p99_9", "max"};
    for (std::size_t i = 0; i < s.latency_ms.size() && i < 5; ++i) lat[names[i]] = s.latency_ms[i].second;
    lat["mean"] = s.latency_mean_ms;
    j["latency_ms"] = lat;
    j["client_cpu_us_per_message"] = s.cpu_us_per_msg;
    j["client_system_cpu_us_per_message"] = s.system_cpu_us_per_msg;
    j["cpu_source"] = "getrusage(RUSAGE_THREAD) of the client thread";
    j["process_cpu_us_per_message"] = s.process_cpu_us_per_msg;
    if (in_process) j["mock_cpu_us_per_message"] = s.mock_cpu_us_per_msg;
    j["peak_rss_kb"] = s.peak_rss_kb;
    j["connections_opened"] = s.connections_opened;
    j["connections_reused"] = s.connections_reused;
    j["retries"] = s.retries;
    j["stale_replays"] = s.stale_replays;
    j["errors"] = s.errors;
    if (!s.error_kinds.empty()) {
        boost::json::object ek;
        for (const auto& [k, v] : s.error_kinds) ek[k] = v;
        j["error_kinds"] = ek;
        j["first_error"] = s.first_error;
    }
    if (o.verify) {
        boost::json::object v;
        v["ok"] = s.verified;
        v["lost"] = s.lost;
        v["duplicated"] = s.duplicated;
        v["foreign"] = s.foreign;
        v["metadata_mismatch"] = s.metadata_mismatch;
        v["text"] = s.verify_text;
        j["verification"] = v;
    }
    if (o.compare) {
        boost::json::object c;
        if (s.peer_ok) {
            c["peer_messages_per_s"] = s.peer_messages_per_s;
            c["peer_cpu_us_per_message"] = s.peer_cpu_us_per_msg;
            c["peer_peak_rss_kb"] = s.peer_peak_rss_kb;
            c["peer_errors"] = s.peer_errors;
            c["peer_verified"] = s.peer_verified;
            c["cpu_ratio"] = s.cpu_us_per_msg / s.peer_cpu_us_per_msg;
            c["throughput_ratio"] = s.messages_per_s / s.peer_messages_per_s;
        } else {
            c["peer_error"] = s.peer_note;
        }
        if (s.wrk_ran) {
            c["wrk_requests_per_s"] = s.wrk_requests_per_s;
            c["wrk_non2xx"] = s.wrk_non2xx;
            c["wrk_ratio"] = s.messages_per_s / s.wrk_requests_per_s;
        } else {
            c["wrk_note"] = s.wrk_note;
        }
        j["compare"] = c;
    }
    return boost::json::serialize(j);
}

// -------------------------------------------------------------------------------------------------- plot

bool write_plot_svg(const std::string& path, const hdr_histogram& h, const options& o, std::string& err)
{
    // The usual HDR percentile plot: x is log10(1/(1-p)), so 90%, 99%, 99.9%... are evenly spaced.
    const double count = static_cast<double>(std::max<std::uint64_t>(h.count(), 1));
    const double decades = std::clamp(std::floor(std::log10(count)), 1.0, 6.0);
    const double W = 800, H = 480, L = 70, R = 20, T = 40, B = 60;
    const double ymax_ms = std::max(static_cast<double>(h.max()) / 1e6 * 1.05, 0.001);
    auto X = [&](double q) { return L + (W - L - R) * q / decades; };
    auto Y = [&](double v) { return H - B - (H - T - B) * v / ymax_ms; };
    std::ostringstream svg;
    svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H
        << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n";
    svg << "<text x='" << L << "' y='22' font-size='14'>smooch-bench latency by percentile: " << h.count()
        << " messages, C=" << o.concurrency << ", K=" << o.connections << (o.rate > 0 ? ", open loop" : ", closed loop")
        << "</text>\n";
    // grid and labels
    for (int d = 0; d <= static_cast<int>(decades); ++d) {
        const double x = X(d);
        static const char* const labels[] = {"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"};
        const char* label = labels[std::min(d, 6)];
        svg << "<line x1='" << x << "' y1='" << T << "' x2='" << x << "' y2='" << H - B << "' stroke='#ddd'/>"
            << "<text x='" << x << "' y='" << H - B + 18 << "' text-anchor='middle'>" << label << "</text>\n";
    }
    for (int k = 0; k <= 5; ++k) {
        const double v = ymax_ms * k / 5, y = Y(v);
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3g", v);
        svg << "<line x1='" << L << "' y1='" << y << "' x2='" << W - R << "' y2='" << y << "' stroke='#ddd'/>"
            << "<text x='" << L - 6 << "' y='" << y + 4 << "' text-anchor='end'>" << buf << "</text>\n";
    }
    svg << "<text x='" << (L + W - R) / 2 << "' y='" << H - 15 << "' text-anchor='middle'>percentile</text>\n"
        << "<text transform='translate(18," << (T + H - B) / 2
        << ") rotate(-90)' text-anchor='middle'>latency (ms)</text>\n";
    svg << "<polyline fill='none' stroke='#1f5fbf' stroke-width='2' points='";
    const int steps = 400;
    for (int i = 0; i <= steps; ++i) {
        const double q = decades * i / steps;
        const double p = 100.0 * (1.0 - std::pow(10.0, -q));
        svg << X(q) << ',' << Y(static_cast<double>(h.percentile(p)) / 1e6) << ' ';
    }
    svg << "'/>\n</svg>\n";
    std::ofstream f(path, std::ios::binary);
    f << svg.str();
    if (!f) {
        err = "cannot write " + path;
        return false;
    }
    return true;
}

// --------------------------------------------------------------------------------------- child processes

namespace {

struct child_result {
    int status = -1;  // exit status, or -1 if it could not run / was killed
    std::string out;
};

child_result run_capture(const std::vector<std::string>& args)
{
    child_result r;
    int fds[2];
    if (pipe(fds) != 0) return r;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    std::vector<char*> av;
    for (const auto& a : args) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    pid_t pid{};
    const int rc = posix_spawnp(&pid, av[0], &fa, nullptr, av.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        r.out = std::string("cannot start ") + args[0] + ": " + std::strerror(rc);
        return r;
    }
    char buf[4096];
    for (;;) {
        const ssize_t n = read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        r.out.append(buf, static_cast<std::size_t>(n));
    }
    close(fds[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

struct temp_file {
    std::string path;
    explicit temp_file(const std::string& content)
    {
        char tmpl[] = "/tmp/smooch-bench-XXXXXX";
        const int fd = mkstemp(tmpl);
        if (fd < 0) throw std::runtime_error("mkstemp failed");
        path = tmpl;
        std::size_t off = 0;
        while (off < content.size()) {
            const ssize_t n = write(fd, content.data() + off, content.size() - off);
            if (n <= 0) break;
            off += static_cast<std::size_t>(n);
        }
        close(fd);
    }
    ~temp_file() { unlink(path.c_str()); }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
};

std::string exe_dir(const char* argv0)
{
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    std::string p = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string(argv0);
    const auto slash = p.rfind('/');
    return slash == std::string::npos ? "." : p.substr(0, slash);
}

std::string find_on_path(const std::string& name)
{
    const char* path = std::getenv("PATH");
    if (!path) return {};
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
        const std::string cand = (dir.empty() ? "." : dir) + "/" + name;
        if (access(cand.c_str(), X_OK) == 0) return cand;
    }
    return {};
}

}  // namespace

bool run_peer(const char* argv0, const peer_target& t, const options& o, summary& s)
{
    const std::string peer = exe_dir(argv0) + "/smooch-bench-curl-peer";
    std::optional<temp_file> ca;
    std::vector<std::string> args = {peer,
                                     "--url",
                                     t.base_url,
                                     "--app",
                                     t.app,
                                     "--user-prefix",
                                     "peer-",
                                     "--messages",
                                     std::to_string(o.messages),
                                     "--users",
                                     std::to_string(o.users),
                                     "--concurrency",
                                     std::to_string(o.concurrency),
                                     "--connections",
                                     std::to_string(o.connections)};
    if (!t.auth_header.empty()) args.insert(args.end(), {"--auth", t.auth_header});
    if (t.insecure) args.emplace_back("--insecure");
    else if (!t.ca_pem.empty()) {
        ca.emplace(t.ca_pem);
        args.insert(args.end(), {"--cainfo", ca->path});
    } else if (!t.ca_file.empty()) args.insert(args.end(), {"--cainfo", t.ca_file});
    if (!o.json) {
        std::printf("running the libcurl peer: %s\n", peer.c_str());
        std::fflush(stdout);
    }
    const auto r = run_capture(args);
    boost::system::error_code ec;
    const auto line = r.out.substr(0, r.out.find('\n'));
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) {
        s.peer_note = "exit status " + std::to_string(r.status) + ", output: " + r.out;
        return false;
    }
    const auto& jo = v.as_object();
    auto num = [&](const char* k) {
        const auto* p = jo.if_contains(k);
        return p && p->is_number() ? p->to_number<double>() : 0.0;
    };
    s.peer_messages_per_s = num("messages_per_s");
    s.peer_cpu_us_per_msg = num("cpu_us_per_message");
    s.peer_peak_rss_kb = static_cast<long>(num("peak_rss_kb"));
    s.peer_errors = static_cast<std::uint64_t>(num("errors"));
    s.peer_ok = r.status == 0 && s.peer_messages_per_s > 0 && s.peer_cpu_us_per_msg > 0;
    if (!s.peer_ok) s.peer_note = "exit status " + std::to_string(r.status) + ": " + line;
    return s.peer_ok;
}

void run_wrk(const peer_target& t, const options& o, summary& s, double our_seconds)
{
    const std::string wrk = find_on_path("wrk");
    if (wrk.empty()) {
        s.wrk_note = "wrk is not on PATH";
        return;
    }
    // The same request as ours: same path shape, body, and headers. wrk does not verify certificates.
    std::string lua =
        "wrk.method = \"POST\"\n"
        "wrk.body = '{\"role\":\"appMaker\",\"type\":\"text\",\"metadata\":{\"seq\":1},\"text\":\"seq 1\"}'\n"
        "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
        "wrk.headers[\"Accept\"] = \"application/json\"\n";
    if (!t.auth_header.empty()) lua += "wrk.headers[\"Authorization\"] = \"" + t.auth_header + "\"\n";
    temp_file script(lua);
    const int secs = static_cast<int>(std::clamp(std::round(our_seconds), 3.0, 10.0));
    const std::string url = t.base_url + "/v1.1/apps/" + t.app + "/appusers/wrk-0/messages";
    if (!o.json) {
        std::printf("running wrk -t1 -c%zu -d%ds\n", o.connections, secs);
        std::fflush(stdout);
    }
    const auto r = run_capture(
        {wrk, "-t1", "-c" + std::to_string(o.connections), "-d" + std::to_string(secs) + "s", "-s", script.path, url});
    const auto pos = r.out.find("Requests/sec:");
    if (r.status != 0 || pos == std::string::npos) {
        s.wrk_note = "wrk failed: " + r.out;
        return;
    }
    s.wrk_requests_per_s = std::strtod(r.out.c_str() + pos + 13, nullptr);
    if (const auto p2 = r.out.find("Non-2xx or 3xx responses:"); p2 != std::string::npos)
        s.wrk_non2xx = std::strtoull(r.out.c_str() + p2 + 26, nullptr, 10);
    s.wrk_ran = s.wrk_requests_per_s > 0;
    if (!s.wrk_ran) s.wrk_note = "wrk reported no requests: " + r.out;
}

}  // namespace smooch::bench

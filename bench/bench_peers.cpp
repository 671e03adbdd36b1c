// SPDX-License-Identifier: BSL-1.0
// smooch-bench's child processes for --compare: the libcurl peer and wrk (bench_util.hpp).

#include "bench_util.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>

extern char** environ;

namespace smooch::bench {

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

bool run_peer(const char* argv0, const peer_target& t, const options& o, std::uint64_t n, double our_seconds,
              summary& s)
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
                                     std::to_string(n),
                                     "--users",
                                     std::to_string(o.users),
                                     "--concurrency",
                                     std::to_string(o.concurrency),
                                     "--connections",
                                     std::to_string(o.connections)};
    // The same calls in the same loop (open at the same rate, or closed) and the same per-call timeout. Its hard
    // end leaves it room to send all n however much slower it is: three times our run, at least our duration.
    auto ms = [](double secs) { return std::to_string(static_cast<long long>(std::ceil(secs * 1000))); };
    args.insert(args.end(), {"--timeout-ms", ms(o.timeout_s)});
    if (o.rate > 0) args.insert(args.end(), {"--rate", std::to_string(o.rate)});
    args.insert(args.end(), {"--duration-ms", ms(std::max(3 * our_seconds, o.duration_s) + o.grace_s), "--grace-ms",
                             ms(o.grace_s)});
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
        s.peer_note = "failed: exit status " + std::to_string(r.status) + ", output: " + r.out;
        return false;
    }
    const auto& jo = v.as_object();
    auto num = [&](const char* k) {
        const auto* p = jo.if_contains(k);
        return p && p->is_number() ? p->to_number<double>() : 0.0;
    };
    s.peer_ran = true;
    s.peer_mode = o.rate > 0 ? "open" : "closed";
    s.peer_messages_per_s = num("messages_per_s");
    s.peer_cpu_us_per_msg = num("cpu_us_per_message");
    s.peer_peak_rss_kb = static_cast<long>(num("peak_rss_kb"));
    s.peer_delivered = static_cast<std::uint64_t>(num("ok"));
    s.peer_errors = static_cast<std::uint64_t>(num("errors"));
    if (const auto* h = jo.if_contains("latency_buckets"); h && h->is_array())
        for (const auto& b : h->get_array())
            if (b.is_array() && b.get_array().size() == 2 && b.get_array()[0].is_number() &&
                b.get_array()[1].is_number())
                s.peer_latency.add_bucket(b.get_array()[0].to_number<std::size_t>(),
                                          b.get_array()[1].to_number<std::uint64_t>());
    s.peer_ok = r.status == 0 && s.peer_messages_per_s > 0 && s.peer_cpu_us_per_msg > 0;
    if (!s.peer_ok) s.peer_note = "failed: exit status " + std::to_string(r.status) + ": " + line;
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

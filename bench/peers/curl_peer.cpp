// SPDX-License-Identifier: BSL-1.0
// smooch-bench-curl-peer: the reference client for `smooch-bench --compare`. It sends the same requests as
// smooch-bench (same path, JSON body, headers), with the same number of calls in flight, the same connection
// cap, the same loop (closed, or open at --rate with latency from each intended start) and the same bounds
// (per-call timeout, duration + grace), through libcurl's multi interface on one thread, and prints one line:
//   {"messages":N,"ok":…,"errors":…,"seconds":…,"messages_per_s":…,"cpu_us_per_message":…,"peak_rss_kb":…,
//    "latency_buckets":[[bucket,count]…]}
// messages_per_s counts successful calls; latency_buckets is the histogram of their latencies (hdr_histogram.hpp
// buckets, nanoseconds). CPU is getrusage(RUSAGE_SELF) over the send phase (the process does nothing else).

#include "../hdr_histogram.hpp"

#include <smooch/version.hpp>

#include <curl/curl.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct opts {
    std::string url, app = "app_bench", prefix = "peer-", auth, cainfo;
    bool insecure = false;
    std::uint64_t messages = 1000;
    std::size_t users = 100, concurrency = 64, connections = 16;
    double rate = 0;  // 0: closed loop
    long timeout_ms = 10000;
    std::uint64_t duration_ms = 0, grace_ms = 1000;  // duration 0: no bound but the per-call timeout
};

constexpr const char* usage_text = "usage: smooch-bench-curl-peer --url URL [--app ID] [--user-prefix P]\n"
                                   "           [--auth HEADER_VALUE] [--cainfo FILE | --insecure] [--messages N]\n"
                                   "           [--users M] [--concurrency C] [--connections K] [--rate R]\n"
                                   "           [--timeout-ms T] [--duration-ms D [--grace-ms G]]\n"
    "           [--help] [--version]\n"
                                   "smooch-bench's libcurl peer (run by smooch-bench --compare): the same fan-out\n"
                                   "over curl_multi, one JSON summary on stdout.\n";

[[noreturn]] void usage(const std::string& why)
{
    std::fprintf(stderr, "smooch-bench-curl-peer: %s\n%s", why.c_str(), usage_text);
    std::exit(2);
}

double cpu_us()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

// Percent-encodes a path segment (the client does the same for ids).
std::string encode_segment(const std::string& s)
{
    std::string out;
    for (char c : s) {
        const auto ch = static_cast<unsigned char>(c);
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
            ch == '_' || ch == '.' || ch == '~') {
            out += static_cast<char>(ch);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", ch);
            out += buf;
        }
    }
    return out;
}

struct slot {
    CURL* easy = nullptr;
    std::string body;
    long status = 0;
    std::chrono::steady_clock::time_point start;  // intended start in open loop
    bool busy = false;
};

size_t discard(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }  // response body unused

}  // namespace

// This process's own peak RSS. Not getrusage's ru_maxrss: a posix_spawn'ed child starts with its parent's
// high-water mark (the kernel records the old address space's peak at exec), which would report the parent.
long peak_rss_kb()
{
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    long kb = 0;
    while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, "VmHWM:", 6) == 0) kb = std::strtol(line + 6, nullptr, 10);
    std::fclose(f);
    return kb;
}

int main(int argc, char** argv)
{
    opts o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(a + " needs a value");
            return argv[++i];
        };
        auto number = [&]() -> std::uint64_t {
            const std::string v = value();
            char* end = nullptr;
            const auto n = std::strtoull(v.c_str(), &end, 10);
            if (v.empty() || *end || n == 0) usage(a + ": bad number '" + v + "'");
            return n;
        };
        if (a == "--help") {
            std::fputs(usage_text, stdout);
            return 0;
        } else if (a == "--version") {
            std::printf("smooch-bench-curl-peer %s\n", SMOOCH_VERSION_STRING);
            return 0;
        } else if (a == "--url") o.url = value();
        else if (a == "--app") o.app = value();
        else if (a == "--user-prefix") o.prefix = value();
        else if (a == "--auth") o.auth = value();
        else if (a == "--cainfo") o.cainfo = value();
        else if (a == "--insecure") o.insecure = true;
        else if (a == "--messages") o.messages = number();
        else if (a == "--users") o.users = static_cast<std::size_t>(number());
        else if (a == "--concurrency") o.concurrency = static_cast<std::size_t>(number());
        else if (a == "--connections") o.connections = static_cast<std::size_t>(number());
        else if (a == "--timeout-ms") o.timeout_ms = static_cast<long>(number());
        else if (a == "--duration-ms") o.duration_ms = number();
        else if (a == "--grace-ms") o.grace_ms = number();
        else if (a == "--rate") {
            const std::string v = value();
            char* end = nullptr;
            o.rate = std::strtod(v.c_str(), &end);
            if (v.empty() || *end || !(o.rate > 0)) usage("--rate: bad number '" + v + "'");
        } else usage("unknown option '" + a + "'");
    }
    if (o.url.empty()) usage("--url is required");

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM* multi = curl_multi_init();
    // HTTP/1.1, no pipelining: at most K connections, each carrying one request at a time, like our pool.
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(o.connections));
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(o.connections));
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(o.connections));
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_NOTHING);

    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    if (!o.auth.empty()) headers = curl_slist_append(headers, ("Authorization: " + o.auth).c_str());

    std::vector<std::string> urls;  // one per user, built once
    for (std::size_t u = 0; u < o.users; ++u)
        urls.push_back(o.url + "/v1.1/apps/" + encode_segment(o.app) + "/appusers/" +
                       encode_segment(o.prefix + std::to_string(u)) + "/messages");

    const std::size_t nslots = static_cast<std::size_t>(std::min<std::uint64_t>(o.concurrency, o.messages));
    std::vector<slot> slots(nslots);
    std::uint64_t next = 1, ok = 0, errors = 0, started = 0;
    std::string first_error;
    smooch::bench::hdr_histogram latency;
    using clk = std::chrono::steady_clock;
    clk::time_point t0;
    const double interval_ns = o.rate > 0 ? 1e9 / o.rate : 0;
    auto intended = [&](std::uint64_t seq) {
        return t0 + std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(seq - 1) * interval_ns));
    };

    auto start_one = [&](slot& s, clk::time_point start) {
        const std::uint64_t seq = next++;
        // Byte for byte the body smooch::serialize(message_post) produces for the bench's message.
        char buf[128];
        std::snprintf(buf, sizeof buf,
                      "{\"role\":\"appMaker\",\"type\":\"text\",\"metadata\":{\"seq\":%" PRIu64
                      "},\"text\":\"seq %" PRIu64 "\"}",
                      seq, seq);
        s.body = buf;
        s.start = start;
        s.busy = true;
        ++started;
        curl_easy_setopt(s.easy, CURLOPT_URL, urls[(seq - 1) % urls.size()].c_str());
        curl_easy_setopt(s.easy, CURLOPT_POSTFIELDS, s.body.c_str());
        curl_easy_setopt(s.easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(s.body.size()));
        curl_multi_add_handle(multi, s.easy);
    };

    for (auto& s : slots) {
        s.easy = curl_easy_init();
        curl_easy_setopt(s.easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(s.easy, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(s.easy, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(s.easy, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(s.easy, CURLOPT_PRIVATE, &s);
        curl_easy_setopt(s.easy, CURLOPT_USERAGENT, "smooch-bench-curl-peer");
        curl_easy_setopt(s.easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(s.easy, CURLOPT_TIMEOUT_MS, o.timeout_ms);
        if (o.insecure) {
            curl_easy_setopt(s.easy, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(s.easy, CURLOPT_SSL_VERIFYHOST, 0L);
        } else if (!o.cainfo.empty()) {
            curl_easy_setopt(s.easy, CURLOPT_CAINFO, o.cainfo.c_str());
        }
    }

    const double cpu0 = cpu_us();
    t0 = clk::now();
    const auto t_stop = o.duration_ms ? t0 + std::chrono::milliseconds(o.duration_ms) : clk::time_point::max();
    const auto t_cancel = o.duration_ms ? t_stop + std::chrono::milliseconds(o.grace_ms) : clk::time_point::max();
    std::size_t busy = 0;
    int running = 0;
    for (;;) {
        // Start what is due: closed loop, every idle slot; open loop, each idle slot takes the next message whose
        // intended time has come (a late one keeps its intended time as the start of its latency).
        const auto now = clk::now();
        for (auto& s : slots) {
            if (s.busy || next > o.messages) continue;
            const auto due = o.rate > 0 ? intended(next) : now;
            if (due > now || due >= t_stop || now >= t_stop) break;
            start_one(s, o.rate > 0 ? due : now);
            ++busy;
        }
        const bool more = next <= o.messages && (o.rate > 0 ? intended(next) < t_stop : now < t_stop);
        if (busy == 0 && !more) break;
        if (clk::now() >= t_cancel) {  // the hard end: what is still in flight fails
            for (auto& s : slots)
                if (s.busy) {
                    curl_multi_remove_handle(multi, s.easy);
                    s.busy = false;
                    ++errors;
                    if (first_error.empty()) first_error = "cancelled at the end of the run";
                }
            break;
        }
        curl_multi_perform(multi, &running);
        int left = 0;
        while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
            if (m->msg != CURLMSG_DONE) continue;
            slot* s = nullptr;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&s));
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &s->status);
            const CURLcode rc = m->data.result;
            curl_multi_remove_handle(multi, m->easy_handle);
            s->busy = false;
            --busy;
            if (rc == CURLE_OK && s->status == 201) {
                ++ok;
                latency.record(static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(clk::now() - s->start).count()));
            } else {
                ++errors;
                if (first_error.empty())
                    first_error = rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP " + std::to_string(s->status);
            }
            // Closed loop: the freed slot starts the next message at once (as smooch-bench's worker does).
            if (o.rate <= 0 && next <= o.messages && clk::now() < t_stop) {
                start_one(*s, clk::now());
                ++busy;
            }
        }
        int wait_ms = 100;
        if (o.rate > 0 && next <= o.messages && busy < slots.size()) {
            const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(intended(next) - clk::now());
            wait_ms = static_cast<int>(std::clamp<long long>(until.count(), 0, 100));
        }
        if (busy > 0 || wait_ms > 0) curl_multi_poll(multi, nullptr, 0, wait_ms, nullptr);
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_us() - cpu0;
    const long peak_kb = peak_rss_kb();

    for (auto& s : slots) curl_easy_cleanup(s.easy);
    curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
    curl_global_cleanup();

    const double n = static_cast<double>(std::max<std::uint64_t>(started, 1));
    std::string buckets;
    for (std::size_t i = 0; i < smooch::bench::hdr_histogram::bucket_count; ++i)
        if (const auto c = latency.bucket(i))
            buckets += (buckets.empty() ? "[" : ",[") + std::to_string(i) + "," + std::to_string(c) + "]";
    std::printf("{\"messages\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"errors\":%" PRIu64
                ",\"seconds\":%.4f,\"messages_per_s\":%.1f,\"cpu_us_per_message\":%.3f,\"peak_rss_kb\":%ld,"
                "\"latency_buckets\":[%s]%s%s%s}\n",
                started, ok, errors, secs, static_cast<double>(ok) / secs, cpu / n, peak_kb, buckets.c_str(),
                first_error.empty() ? "" : ",\"first_error\":\"", first_error.c_str(), first_error.empty() ? "" : "\"");
    return errors ? 1 : 0;
}

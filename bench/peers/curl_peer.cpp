// smooch-bench-curl-peer: the reference client for `smooch-bench --compare`. It sends the same requests as
// smooch-bench (same path, JSON body, headers), with the same number of calls in flight and the same
// connection cap, through libcurl's multi interface on one thread, and prints one JSON line:
//   {"messages":N,"ok":…,"errors":…,"seconds":…,"messages_per_s":…,"cpu_us_per_message":…,"peak_rss_kb":…}
// CPU is getrusage(RUSAGE_SELF) over the send phase (the process does nothing else).

#include <curl/curl.h>
#include <sys/resource.h>

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
};

[[noreturn]] void usage(const std::string& why)
{
    std::fprintf(stderr,
                 "smooch-bench-curl-peer: %s\nusage: smooch-bench-curl-peer --url URL [--app ID] [--user-prefix P] "
                 "[--auth HEADER_VALUE] [--cainfo FILE | --insecure] [--messages N] [--users M] "
                 "[--concurrency C] [--connections K]\n",
                 why.c_str());
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
        if (a == "--url") o.url = value();
        else if (a == "--app") o.app = value();
        else if (a == "--user-prefix") o.prefix = value();
        else if (a == "--auth") o.auth = value();
        else if (a == "--cainfo") o.cainfo = value();
        else if (a == "--insecure") o.insecure = true;
        else if (a == "--messages") o.messages = number();
        else if (a == "--users") o.users = static_cast<std::size_t>(number());
        else if (a == "--concurrency") o.concurrency = static_cast<std::size_t>(number());
        else if (a == "--connections") o.connections = static_cast<std::size_t>(number());
        else usage("unknown option '" + a + "'");
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
    std::uint64_t next = 1, ok = 0, errors = 0, done = 0;
    std::string first_error;

    auto start_one = [&](slot& s) {
        const std::uint64_t seq = next++;
        // Byte for byte the body smooch::serialize(message_post) produces for the bench's message.
        char buf[128];
        std::snprintf(buf, sizeof buf,
                      "{\"role\":\"appMaker\",\"type\":\"text\",\"metadata\":{\"seq\":%" PRIu64
                      "},\"text\":\"seq %" PRIu64 "\"}",
                      seq, seq);
        s.body = buf;
        curl_easy_setopt(s.easy, CURLOPT_URL, urls[(seq - 1) % urls.size()].c_str());
        curl_easy_setopt(s.easy, CURLOPT_POSTFIELDS, s.body.c_str());
        curl_easy_setopt(s.easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(s.body.size()));
        curl_multi_add_handle(multi, s.easy);
    };

    const double cpu0 = cpu_us();
    const auto t0 = std::chrono::steady_clock::now();
    for (auto& s : slots) {
        s.easy = curl_easy_init();
        curl_easy_setopt(s.easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(s.easy, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(s.easy, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(s.easy, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(s.easy, CURLOPT_PRIVATE, &s);
        curl_easy_setopt(s.easy, CURLOPT_USERAGENT, "smooch-bench-curl-peer");
        curl_easy_setopt(s.easy, CURLOPT_NOSIGNAL, 1L);
        if (o.insecure) {
            curl_easy_setopt(s.easy, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(s.easy, CURLOPT_SSL_VERIFYHOST, 0L);
        } else if (!o.cainfo.empty()) {
            curl_easy_setopt(s.easy, CURLOPT_CAINFO, o.cainfo.c_str());
        }
        start_one(s);
    }

    int running = 0;
    while (done < o.messages) {
        curl_multi_perform(multi, &running);
        int left = 0;
        while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
            if (m->msg != CURLMSG_DONE) continue;
            slot* s = nullptr;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&s));
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &s->status);
            const CURLcode rc = m->data.result;
            curl_multi_remove_handle(multi, m->easy_handle);
            ++done;
            if (rc == CURLE_OK && s->status == 201) {
                ++ok;
            } else {
                ++errors;
                if (first_error.empty())
                    first_error = rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP " + std::to_string(s->status);
            }
            if (next <= o.messages) start_one(*s);
        }
        if (done < o.messages) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_us() - cpu0;
    const long peak_kb = peak_rss_kb();

    for (auto& s : slots) curl_easy_cleanup(s.easy);
    curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
    curl_global_cleanup();

    const double n = static_cast<double>(o.messages);
    std::printf("{\"messages\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"errors\":%" PRIu64
                ",\"seconds\":%.4f,\"messages_per_s\":%.1f,\"cpu_us_per_message\":%.3f,\"peak_rss_kb\":%ld%s%s%s}\n",
                o.messages, ok, errors, secs, n / secs, cpu / n, peak_kb,
                first_error.empty() ? "" : ",\"first_error\":\"", first_error.c_str(), first_error.empty() ? "" : "\"");
    return errors ? 1 : 0;
}

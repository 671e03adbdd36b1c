// SPDX-License-Identifier: BSL-1.0
// smooch-bench: fans out post_message calls, measures throughput, latency, CPU and memory, then proves
// that every message arrived exactly once. See docs/bench.md.
//
// Threads: the client runs on the main thread's io_context (one thread, so RUSAGE_THREAD of the main
// thread is the client's CPU); the in-process smooch-mock runs on its own thread and io_context.

#include "bench_util.hpp"
#include "hdr_histogram.hpp"

#include <smooch/client.hpp>
#include <smooch/conversation_api.hpp>
#include <smooch/error.hpp>
#include <smooch/json.hpp>
#include <smooch/mock/server.hpp>

#include <smooch/version.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace smooch::bench;
using clk = std::chrono::steady_clock;

namespace {

// ------------------------------------------------------------------------------------------------ timing

double thread_cpu_us(bool system_only = false)  // this thread's user+system (or system) CPU, RUSAGE_THREAD
{
    rusage ru{};
    getrusage(RUSAGE_THREAD, &ru);
    const double sys = static_cast<double>(ru.ru_stime.tv_sec) * 1e6 + static_cast<double>(ru.ru_stime.tv_usec);
    if (system_only) return sys;
    return sys + static_cast<double>(ru.ru_utime.tv_sec) * 1e6 + static_cast<double>(ru.ru_utime.tv_usec);
}

double process_cpu_us()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double other_thread_cpu_us(pthread_t t)  // another thread's CPU clock, readable from here at any time
{
    clockid_t id{};
    if (pthread_getcpuclockid(t, &id) != 0) return 0;
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

long peak_rss_kb()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

// ------------------------------------------------------------------------------------------------- the run

/// A stable identifier for a failure kind (the key of the summary's and the JSON's error counts): `http_<status>`
/// for a server's answer, the client_errc name (`deadline_exceeded`, `outcome_unknown`…), or the transport's
/// (`connection_refused`, `connection_reset`, `eof`, `tls_error`…). A call that stopped for one reason after an
/// attempt failed for another is keyed by both: `retry_budget_exhausted:connection_refused`, `rate_limited:http_503`.
std::string error_id(const boost::system::error_code& ec)
{
    static const char* const client_names[] = {"",
                                               "invalid_request",
                                               "invalid_json",
                                               "unexpected_json",
                                               "invalid_url",
                                               "invalid_credentials",
                                               "pool_queue_full",
                                               "deadline_exceeded",
                                               "attempt_timeout",
                                               "connect_timeout",
                                               "outcome_unknown",
                                               "rate_limited",
                                               "retry_budget_exhausted",
                                               "response_too_large",
                                               "bad_response",
                                               "connection_closed",
                                               "client_stopped",
                                               "invalid_configuration",
                                               "unreadable_response",
                                               "unpageable_history"};
    const int v = ec.value();
    const auto& cat = ec.category();
    if (cat == smooch::http_category()) return "http_" + std::to_string(v);
    if (cat == smooch::client_category())
        return v > 0 && static_cast<std::size_t>(v) < std::size(client_names) ? client_names[v]
                                                                              : "client_" + std::to_string(v);
    if (cat == boost::system::system_category() || cat == boost::system::generic_category()) {
        switch (v) {
        case ECONNREFUSED: return "connection_refused";
        case ECONNRESET: return "connection_reset";
        case ECONNABORTED: return "connection_aborted";
        case ETIMEDOUT: return "timed_out";
        case EPIPE: return "broken_pipe";
        case ECANCELED: return "cancelled";
        case ENETUNREACH: return "network_unreachable";
        case EHOSTUNREACH: return "host_unreachable";
        case EADDRNOTAVAIL: return "address_not_available";
        default: return "errno_" + std::to_string(v);
        }
    }
    if (ec == asio::error::eof) return "eof";
    if (ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again) return "host_not_found";
    if (ec == asio::ssl::error::stream_truncated) return "tls_stream_truncated";
    std::string id = cat.name();
    if (id.find("ssl") != std::string::npos) return "tls_error";
    for (char& c : id)
        if (c == '.') c = '_';
    return id + "_" + std::to_string(v);
}

struct run_state {
    const options* opt = nullptr;
    smooch::conversation_api* api = nullptr;
    std::vector<std::string> users;  // M ids, not per message
    std::uint64_t next = 1;          // next sequence number to take (1..N)
    std::uint64_t started = 0, delivered = 0, failed = 0, cancelled_at_end = 0, outcome_unknown = 0;
    std::uint64_t late_starts = 0;
    clk::duration max_lateness{};
    clk::time_point last_start;                // open loop: when the latest call started (for the achieved rate)
    std::map<std::string, error_kind> errors;  // bounded: at most 32 kinds
    std::vector<bool> delivered_seq;           // one bit per message, for the verification
    hdr_histogram hist, failed_hist;
    std::FILE* outcomes = nullptr;  // --outcomes: one JSON line per message, fully buffered
    clk::time_point t0;
    clk::time_point t_stop = clk::time_point::max();       // --duration: no call starts from then on
    clk::time_point t_end_bound = clk::time_point::max();  // --duration + --grace: every call's deadline at the latest
    bool stopping = false;                                 // a signal: start nothing more
    bool interrupted = false;
    bool abandoned = false;  // after a signal, calls still in flight at the grace were left behind (not waited for)
    std::vector<std::uint64_t> in_flight;  // per worker: the sequence number of its call in flight, 0 if none
    std::vector<clk::time_point> in_flight_start;
    unsigned workers_left = 0;
    std::exception_ptr failure;
    bool finished = false;
};

void record_outcome(run_state& st, std::uint64_t seq, const boost::system::error_code& ec,
                    const smooch::diagnostics& diag, const std::string& id, std::uint64_t ns)
{
    const unsigned status = diag.status ? diag.status : (ec ? 0u : 201u);
    std::fprintf(st.outcomes,
                 "{\"seq\":%" PRIu64 ",\"status\":%u,\"error\":%s%s%s,\"outcome_unknown\":%s,\"applied\":%s,"
                 "\"attempts\":%zu,\"latency_ms\":%.3f}\n",
                 seq, status, ec ? "\"" : "", ec ? id.c_str() : "null", ec ? "\"" : "",
                 diag.outcome_unknown ? "true" : "false", diag.applied ? "true" : "false", diag.attempts.size(),
                 static_cast<double>(ns) / 1e6);
}

asio::awaitable<void> worker(run_state& st, std::size_t index)
{
    const options& o = *st.opt;
    // One message object per worker, updated in place: the bench itself should not allocate per call
    // more than building "seq N" requires.
    smooch::message_post m;
    m.role = smooch::role::app_maker;
    m.type = smooch::message_type::text;
    m.metadata.emplace();
    smooch::call_options opts;  // named: g++ 12 double-destroys braced temporaries inside co_await
    const auto call_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(o.timeout_s * 1000)));
    opts.total_timeout = call_timeout;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const double interval_ns = o.rate > 0 ? 1e9 / o.rate : 0;
    // No cancellation slot on the hot path (it costs the client ~1 400 instructions per call, bench/RESULTS.md):
    // the end of the run is each call's own deadline, duration + grace at the latest.
    while (!st.stopping && st.next <= o.messages) {
        clk::time_point start = clk::now();
        if (start >= st.t_stop) break;  // the duration is over: start nothing more
        const std::uint64_t seq = st.next;
        if (o.rate > 0) {
            // Open loop: request `seq` is due at t0 + (seq-1)/R whatever happened before; latency counts
            // from that intended time, so a stalled server is charged for the requests it delayed.
            const auto intended =
                st.t0 + std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(seq - 1) * interval_ns));
            if (intended >= st.t_stop) break;  // the schedule ends with the duration
            ++st.next;
            if (intended > start) {
                timer.expires_at(intended);
                auto [tec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
                if (tec || st.stopping) break;  // cancelled: this message is not sent
                st.last_start = intended;
            } else {
                if (start - intended > std::chrono::milliseconds(1)) {
                    ++st.late_starts;  // every worker was busy when it was due
                    st.max_lateness = std::max(st.max_lateness, start - intended);
                }
                st.last_start = start;
            }
            start = intended;
        } else {
            ++st.next;
        }
        m.text = "seq " + std::to_string(seq);
        (*m.metadata)["seq"] = seq;
        const std::string& user = st.users[(seq - 1) % st.users.size()];
        // The run's hard end bounds the call: its deadline is the earlier of --timeout and duration + grace.
        bool cut_by_end = false;
        if (st.t_end_bound != clk::time_point::max()) {
            const auto now = o.rate > 0 ? st.last_start : start;  // when it really starts (no extra clock read)
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(st.t_end_bound - now);
            cut_by_end = left < call_timeout;
            opts.total_timeout = std::clamp(left, std::chrono::milliseconds(1), call_timeout);
        }
        smooch::diagnostics diag;
        ++st.started;
        st.in_flight[index] = seq;
        st.in_flight_start[index] = start;
        auto [ec, r] =
            co_await st.api->async_post_message(o.app, user, m, diag, opts, asio::as_tuple(asio::use_awaitable));
        if (st.abandoned) co_return;  // the summary was made without this call (counted as cancelled at the end)
        st.in_flight[index] = 0;
        const auto ns = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(clk::now() - start).count());
        std::string id;
        boost::system::error_code last;  // the last attempt's error, when it tells more than the call's
        if (!ec) {
            ++st.delivered;
            st.hist.record(ns);
            if (seq >= st.delivered_seq.size()) st.delivered_seq.resize(std::max<std::size_t>(seq + 1, 2 * seq));
            st.delivered_seq[seq] = true;
        } else {
            ++st.failed;
            st.failed_hist.record(ns);
            if (diag.outcome_unknown) ++st.outcome_unknown;
            if ((cut_by_end && ec == smooch::client_errc::deadline_exceeded) ||
                (st.interrupted && ec == smooch::client_errc::client_stopped)) {
                ++st.cancelled_at_end;  // ended by the run's end, not by the server
                id = "cancelled_at_end";
            } else {
                // Why the call stopped, and what its last attempt met when that differs: a retry budget or a
                // deadline ends a call, a refused connect or a 503 is what went wrong.
                id = error_id(ec);
                last = diag.attempts.empty() ? boost::system::error_code{} : diag.attempts.back().ec;
                if (last && error_id(last) != id) id += ":" + error_id(last);
                else last = {};
            }
            if (st.errors.size() < 32 || st.errors.count(id)) {
                auto& k = st.errors[id];
                if (k.count++ == 0)
                    k.example =
                        id == "cancelled_at_end"
                            ? std::string("in flight when the run ended (duration + grace, or a signal); ") +
                                  (diag.outcome_unknown ? "its message may or may not exist" : "nothing had been sent")
                            : smooch::describe(ec, diag) +
                                  (last ? " (last attempt: " + last.message() + ")" : std::string());
            }
        }
        if (st.outcomes) record_outcome(st, seq, ec, diag, id, ns);
    }
}

/// Terminal width of stdout, 80 if it cannot be read.
std::size_t terminal_columns()
{
    winsize ws{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 80;
}

asio::awaitable<void> progress(run_state& st)
{
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const options& o = *st.opt;
    const bool by_time = o.duration_s > 0 && !o.messages_given;
    // The current rate: completions over the last second, from a ring of 5 samples 200 ms apart.
    std::array<std::pair<clk::time_point, std::uint64_t>, 6> ring{};
    std::size_t ticks = 0;
    ring[0] = {st.t0, 0};
    while (!st.finished && !st.stopping) {
        timer.expires_after(std::chrono::milliseconds(200));
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec || st.finished || st.stopping) break;
        const auto now = clk::now();
        const std::uint64_t done = st.delivered + st.failed;
        ++ticks;
        ring[ticks % ring.size()] = {now, done};
        const auto& old = ring[ticks >= ring.size() - 1 ? (ticks + 1) % ring.size() : 0];
        const double window = std::chrono::duration<double>(now - old.first).count();
        const double rate = window > 0 ? static_cast<double>(done - old.second) / window : 0;
        const double secs = std::chrono::duration<double>(now - st.t0).count();
        double fraction, eta;
        if (by_time) {
            fraction = std::min(1.0, secs / o.duration_s);
            eta = std::max(0.0, o.duration_s - secs);
        } else {
            fraction = static_cast<double>(done) / static_cast<double>(o.messages);
            eta = rate > 0 ? static_cast<double>(o.messages - done) / rate : 0;
        }
        // One line that never wraps: a wrapped line cannot be redrawn with '\r'.
        char tail[160];
        const int tail_len = std::snprintf(tail, sizeof tail, " %3d%% %" PRIu64 " done %.0f/s ETA %.0fs err %" PRIu64,
                                           static_cast<int>(100.0 * fraction), done, rate, eta, st.failed);
        const std::size_t cols = std::min<std::size_t>(terminal_columns(), 200);
        std::string line;
        const std::size_t room = cols - 1;  // the last column stays empty (some terminals wrap on it)
        const std::size_t tail_size = static_cast<std::size_t>(std::max(tail_len, 0));
        if (room >= tail_size + 12) {
            const std::size_t width = std::min<std::size_t>(40, room - tail_size - 2);
            const auto filled = static_cast<std::size_t>(static_cast<double>(width) * fraction);
            line = "[" + std::string(filled, '=') + std::string(width - filled, ' ') + "]";
        }
        line += tail;
        if (line.size() > room) line.resize(room);
        std::printf("\r%s\033[K", line.c_str());  // \033[K: erase what a longer previous line left
        std::fflush(stdout);
    }
    std::printf("\r\033[K");
    std::fflush(stdout);
}

// --------------------------------------------------------------------------------------------- verification

// Marks sequence numbers seen in a bitmap (N bits, allocated only for verification, after the timed run), and
// compares it with what the client was told: every delivered message must be there exactly once; a failed one
// may be there (its outcome was unknown, or the server applied what it answered with an error) and is counted.
struct delivery_check {
    std::uint64_t n;
    const std::vector<bool>& delivered;
    std::vector<bool> seen;
    std::uint64_t duplicates = 0, foreign = 0, metadata_mismatch = 0;
    std::vector<std::uint64_t> dup_examples;
    delivery_check(std::uint64_t count, const std::vector<bool>& delivered_seq)
        : n(count), delivered(delivered_seq), seen(count + 1, false)
    {}

    static std::optional<std::uint64_t> parse_seq(std::string_view text)
    {
        if (text.substr(0, 4) != "seq ") return std::nullopt;
        std::uint64_t v = 0;
        if (text.size() == 4) return std::nullopt;
        for (char ch : text.substr(4)) {
            if (ch < '0' || ch > '9') return std::nullopt;
            v = v * 10 + static_cast<std::uint64_t>(ch - '0');
        }
        return v;
    }
    void add(std::string_view text, const boost::json::object* metadata)
    {
        auto s = parse_seq(text);
        if (!s || *s == 0 || *s > n) {
            ++foreign;
            return;
        }
        if (metadata) {
            auto it = metadata->find("seq");
            if (it == metadata->end() || !it->value().is_number() || it->value().to_number<std::uint64_t>() != *s)
                ++metadata_mismatch;
        } else {
            ++metadata_mismatch;
        }
        if (seen[*s]) {
            ++duplicates;
            if (dup_examples.size() < 10) dup_examples.push_back(*s);
        } else {
            seen[*s] = true;
        }
    }
    bool was_delivered(std::uint64_t i) const { return i < delivered.size() && delivered[i]; }
    std::uint64_t count(bool want_delivered, bool want_seen) const
    {
        std::uint64_t c = 0;
        for (std::uint64_t i = 1; i <= n; ++i) c += was_delivered(i) == want_delivered && seen[i] == want_seen;
        return c;
    }
    std::uint64_t lost() const { return count(true, false); }
    std::uint64_t applied_though_failed() const { return count(false, true); }
    bool ok() const { return lost() == 0 && duplicates == 0 && metadata_mismatch == 0; }
    std::string lost_examples() const
    {
        std::string s;
        int k = 0;
        for (std::uint64_t i = 1; i <= n && k < 10; ++i)
            if (was_delivered(i) && !seen[i]) s += (k++ ? ", " : "") + std::to_string(i);
        return s;
    }
    /// Fills the verification part of the summary.
    void report(summary& s, std::uint64_t delivered_count, const std::string& failure) const
    {
        s.verify_ran = true;
        s.verified = ok() && failure.empty();
        s.lost = lost();
        s.duplicated = duplicates;
        s.foreign = foreign;
        s.metadata_mismatch = metadata_mismatch;
        s.applied_though_failed = applied_though_failed();
        const std::string extra = s.applied_though_failed ? "; " + std::to_string(s.applied_though_failed) +
                                                                " failed calls were applied by the server"
                                                          : std::string();
        if (s.verified) {
            s.verify_text =
                "verified: " + std::to_string(delivered_count) + " delivered messages, 0 lost, 0 duplicated" + extra;
            return;
        }
        std::string t = "NOT verified: " + std::to_string(delivered_count - s.lost) + " of " +
                        std::to_string(delivered_count) + " delivered messages found, " + std::to_string(s.lost) +
                        " lost, " + std::to_string(duplicates) + " duplicated" + extra;
        if (metadata_mismatch)
            t += ", " + std::to_string(metadata_mismatch) + " with metadata.seq not matching the text";
        if (s.lost) t += "; first lost: " + lost_examples();
        if (!dup_examples.empty()) {
            t += "; duplicated:";
            for (auto d : dup_examples) t += " " + std::to_string(d);
        }
        if (!failure.empty()) t += "; " + failure;
        s.verify_text = t;
    }
};

void check_record(delivery_check& chk, const smooch::mock::record& rec, const std::string& app,
                  const std::string& user_prefix)
{
    for (const auto& conv : rec.conversations) {
        if (conv.app_id != app || conv.user_id.rfind(user_prefix, 0) != 0) continue;
        for (const auto& msg : conv.messages) {
            // The stored JSON carries the metadata; parse it to check that it agrees with the text.
            boost::system::error_code ec;
            auto v = boost::json::parse(msg.json, ec);
            const boost::json::object* md = nullptr;
            if (!ec && v.is_object())
                if (auto* p = v.as_object().if_contains("metadata"); p && p->is_object()) md = &p->as_object();
            chk.add(msg.text.value_or(""), md);
        }
    }
}

asio::awaitable<void> check_via_api(delivery_check& chk, smooch::conversation_api& api, const options& o,
                                    const std::vector<std::string>& users, std::string& failure)
{
    for (const auto& u : users) {
        try {
            smooch::call_options opts;  // bounded by the per-call timeout: a silent server cannot hold it
            opts.total_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(o.timeout_s * 1000)));
            co_await api.walk_history(
                o.app, u, smooch::walk_direction::oldest_first,
                [&](const smooch::message& m) { chk.add(m.text.value_or(""), m.metadata ? &*m.metadata : nullptr); },
                opts);
        } catch (const std::exception& e) {
            failure = "get_messages for user " + u + ": " + e.what();
            co_return;
        }
    }
}

// -------------------------------------------------------------------------------------------------- output

std::string fmt(const char* f, double v)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

}  // namespace

int main(int argc, char** argv)
{
    options o;
    try {
        o = parse_options(argc, argv);
    } catch (const usage_error& e) {
        std::fprintf(stderr, "smooch-bench: %s\nTry 'smooch-bench --help'.\n", e.what());
        return 2;
    }
    if (o.help) {
        std::fputs(usage_text(), stdout);
        return 0;
    }
    if (o.version) {
        std::printf("smooch-bench %s\n", SMOOCH_VERSION_STRING);
        return 0;
    }

    try {
        // ---- server: in-process smooch-mock on its own thread, unless --url
        const bool in_process = o.url.empty();
        asio::io_context mock_io(1);
        auto mock_guard = asio::make_work_guard(mock_io);
        std::unique_ptr<smooch::mock::server> srv;
        std::thread mock_thread;
        smooch::client_params cp;
        std::string ca_pem;
        if (in_process) {
            smooch::mock::server_params mp;
            mp.tls = smooch::mock::generate_tls();
            mp.keys.push_back({"bench_key", "bench_secret", std::nullopt});  // account key: any app
            ca_pem = mp.tls->ca_pem;
            srv = std::make_unique<smooch::mock::server>(mock_io.get_executor(), mp);
            srv->start();  // before the thread runs: start() belongs to the owning thread
            mock_thread = std::thread([&] { mock_io.run(); });
            cp.base_url = srv->base_url();
            cp.credentials = smooch::basic_auth{"bench_key", "bench_secret"};
            cp.tls.ca_pem = ca_pem;
            o.key_id = "bench_key";
            o.secret = "bench_secret";
        } else {
            cp.base_url = o.url;
            if (!o.jwt.empty()) cp.credentials = smooch::bearer_token{o.jwt};
            else if (!o.key_id.empty()) cp.credentials = smooch::basic_auth{o.key_id, o.secret};
            cp.tls.ca_file = o.ca_file;
        }
        auto ms_of = [](double s) { return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(s * 1000))); };
        cp.tls.insecure_skip_verify = o.insecure;
        cp.pool.max_connections = o.connections;
        cp.pool.max_waiters = std::max<std::size_t>(cp.pool.max_waiters, o.concurrency);
        cp.timeouts.total = ms_of(o.timeout_s);
        if (o.connect_timeout_s) cp.timeouts.connect = ms_of(*o.connect_timeout_s);
        if (o.attempt_timeout_s) cp.timeouts.attempt = ms_of(*o.attempt_timeout_s);
        if (o.attempts) cp.retry.max_attempts = *o.attempts;
        cp.retry.retry_unknown_outcome = o.retry_unknown_outcome;
        if (o.client_rate > 0) {
            cp.rate_limit.requests_per_second = o.client_rate;
            if (o.client_burst) cp.rate_limit.burst = *o.client_burst;
        }
        const std::string auth_header = authorization_header(o);

        auto stop_mock = [&] {
            if (!mock_thread.joinable()) return;
            asio::post(mock_io, [&] { srv->stop(); });
            mock_guard.reset();
            asio::post(mock_io, [&] { mock_io.stop(); });
            mock_thread.join();
            srv.reset();
        };
        // Also on exceptions: a joinable std::thread would terminate the program when destroyed.
        struct on_exit {
            std::function<void()> f;
            ~on_exit() { f(); }
        } stop_mock_guard{stop_mock};

        // ---- our client
        asio::io_context io(1);
        smooch::client client(io.get_executor(), cp);
        smooch::conversation_api api(client);

        run_state st;
        st.opt = &o;
        st.api = &api;
        const std::string user_prefix = o.user_prefix.empty() ? (in_process ? "bench-" : run_prefix()) : o.user_prefix;
        for (std::size_t i = 0; i < o.users; ++i) st.users.push_back(user_prefix + std::to_string(i));
        std::vector<char> outcomes_buffer;
        if (!o.outcomes.empty()) {
            st.outcomes = std::fopen(o.outcomes.c_str(), "w");
            if (!st.outcomes) throw std::runtime_error("--outcomes: cannot write " + o.outcomes);
            outcomes_buffer.resize(1 << 20);  // written in 1 MiB blocks, never per message
            std::setvbuf(st.outcomes, outcomes_buffer.data(), _IOFBF, outcomes_buffer.size());
        }

        const bool tty = isatty(1) && !o.json;
        if (!o.json) {
            // Lines that fit 80 columns.
            std::string what = o.duration_s > 0 && !o.messages_given ? fmt("%g s", o.duration_s)
                                                                     : std::to_string(o.messages) + " messages";
            if (o.duration_s > 0 && o.messages_given) what += fmt(" (at most %g s)", o.duration_s);
            std::printf("smooch-bench: %s, %zu users, %s, %zu in flight, %zu connections\n", what.c_str(), o.users,
                        o.rate > 0 ? ("open loop at " + fmt("%.0f", o.rate) + "/s").c_str() : "closed loop",
                        o.concurrency, o.connections);
            std::printf("server: %s (%s)\n", cp.base_url.c_str(), in_process ? "in-process smooch-mock, TLS" : "--url");
            std::printf("calls: timeout %gs each%s\n", o.timeout_s,
                        o.duration_s > 0 ? (", all ended by " + fmt("%g s", o.grace_s) + " after the duration").c_str()
                                         : "");
            std::fflush(stdout);
        }

        // The first SIGINT/SIGTERM: nothing more starts, calls waiting for a connection fail at once (shutdown), and
        // calls still in flight after the grace are left behind: the summary is of what completed.
        const std::size_t workers = static_cast<std::size_t>(std::min<std::uint64_t>(o.concurrency, o.messages));
        st.in_flight.assign(workers, 0);
        st.in_flight_start.resize(workers);
        clk::time_point t_end;
        asio::steady_timer grace(io);
        asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](const boost::system::error_code& ec, int) {
            if (ec) return;
            st.interrupted = true;
            st.stopping = true;
            signals.clear();  // a second Ctrl-C gets the default action: the program ends at once
            client.shutdown();
            grace.expires_after(std::chrono::duration_cast<clk::duration>(std::chrono::duration<double>(o.grace_s)));
            grace.async_wait([&](const boost::system::error_code& gec) {
                if (gec || st.finished) return;
                st.abandoned = true;
                t_end = clk::now();
                io.stop();
            });
        });

        const double cpu0 = thread_cpu_us();
        const double sys0 = thread_cpu_us(true);
        const double pcpu0 = process_cpu_us();
        const double mcpu0 = in_process ? other_thread_cpu_us(mock_thread.native_handle()) : 0;
        st.t0 = clk::now();
        if (o.duration_s > 0) {
            const auto d = std::chrono::duration_cast<clk::duration>(std::chrono::duration<double>(o.duration_s));
            st.t_stop = st.t0 + d;
            st.t_end_bound =
                st.t_stop + std::chrono::duration_cast<clk::duration>(std::chrono::duration<double>(o.grace_s));
        }
        st.workers_left = static_cast<unsigned>(workers);
        for (std::size_t i = 0; i < workers; ++i) {
            asio::co_spawn(io, worker(st, i), [&](std::exception_ptr e) {
                if (e && !st.failure) st.failure = e;
                if (--st.workers_left == 0 && !st.abandoned) {
                    t_end = clk::now();
                    st.finished = true;
                    grace.cancel();
                    signals.cancel();
                    io.stop();  // the pool's idle timers would otherwise keep run() going
                }
            });
        }
        if (tty) asio::co_spawn(io, progress(st), asio::detached);
        io.run();
        const double cpu_us = thread_cpu_us() - cpu0;
        const double sys_us = thread_cpu_us(true) - sys0;
        const double pcpu_us = process_cpu_us() - pcpu0;
        const double mcpu_us = in_process ? other_thread_cpu_us(mock_thread.native_handle()) - mcpu0 : 0;
        const long rss_kb = peak_rss_kb();  // before verification, which copies the mock's record
        if (tty) {                          // let the progress coroutine erase its line
            io.restart();
            io.poll();
            std::printf("\r\033[K");
            std::fflush(stdout);
        }
        if (st.abandoned) {
            // Calls left in flight at the grace: failed, cancelled at the end, each with its outcome line.
            for (std::size_t i = 0; i < workers; ++i) {
                if (!st.in_flight[i]) continue;
                ++st.failed;
                ++st.cancelled_at_end;
                const auto ns = static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(t_end - st.in_flight_start[i]).count());
                st.failed_hist.record(ns);
                auto& k = st.errors["cancelled_at_end"];
                if (k.count++ == 0)
                    k.example = "in flight when the run was interrupted; its message may or may not exist";
                if (st.outcomes) {
                    smooch::diagnostics none;
                    none.outcome_unknown = true;
                    record_outcome(st, st.in_flight[i], smooch::client_errc::client_stopped, none, "cancelled_at_end",
                                   ns);
                }
            }
        }
        if (st.outcomes) {
            const bool written = std::fflush(st.outcomes) == 0;
            std::fclose(st.outcomes);
            st.outcomes = nullptr;
            if (!written) throw std::runtime_error("--outcomes: cannot write " + o.outcomes);
        }
        if (st.failure) std::rethrow_exception(st.failure);
        if (st.interrupted && !o.json) std::printf("interrupted: summary of what completed\n");

        const double secs = std::max(std::chrono::duration<double>(t_end - st.t0).count(), 1e-9);
        const auto ctr = client.counters();
        const double sent = static_cast<double>(std::max<std::uint64_t>(st.started, 1));

        summary s;
        s.sent = st.started;
        s.delivered = st.delivered;
        s.failed = st.failed;
        s.cancelled_at_end = st.cancelled_at_end;
        s.outcome_unknown = st.outcome_unknown;
        s.interrupted = st.interrupted;
        s.seconds = secs;
        s.messages_per_s = static_cast<double>(st.delivered) / secs;  // successful calls only
        s.latency = figures_of(st.hist);
        s.failed_latency = figures_of(st.failed_hist);
        s.late_starts = st.late_starts;
        s.max_lateness_ms = std::chrono::duration<double, std::milli>(st.max_lateness).count();
        if (o.rate > 0 && st.started > 0) {
            // Calls started per second of the schedule they followed (the first is due at 0).
            const double span = std::chrono::duration<double>(st.last_start - st.t0).count() + 1 / o.rate;
            s.achieved_rate = static_cast<double>(st.started) / span;
            if (s.achieved_rate < 0.95 * o.rate || st.late_starts > st.started / 100)
                s.warnings.push_back(
                    "--rate " + fmt("%.0f", o.rate) + "/s was not achieved: " + fmt("%.0f", s.achieved_rate) +
                    "/s started, " + std::to_string(st.late_starts) + " calls started late (all " +
                    std::to_string(o.concurrency) + " in flight); raise --concurrency or lower --rate");
        }
        s.cpu_us_per_msg = cpu_us / sent;
        s.system_cpu_us_per_msg = sys_us / sent;
        s.process_cpu_us_per_msg = pcpu_us / sent;
        s.mock_cpu_us_per_msg = mcpu_us / sent;
        s.peak_rss_kb = rss_kb;
        s.connections_opened = ctr.connections_opened;
        s.connections_reused = ctr.connections_reused;
        s.retries = ctr.retries_connect + ctr.retries_throttled + ctr.retries_server_error + ctr.retries_transport;
        s.stale_replays = ctr.stale_replays;
        s.responses_429 = ctr.responses_429;
        s.gate_waits = ctr.gate_waits;
        s.errors = st.errors;
        if (st.started == 0) s.warnings.push_back("no call was started");

        if (!o.json) print_summary(s, o, in_process);

        // ---- verification: what was delivered arrived exactly once
        const std::uint64_t taken = st.next - 1;
        if (o.verify && st.delivered == 0 && !o.json) std::printf("verification skipped: no call succeeded\n");
        if (o.verify && st.delivered > 0) {
            delivery_check chk(taken, st.delivered_seq);
            std::string failure;
            if (in_process) {
                check_record(chk, srv->record(), o.app, user_prefix);
            } else {
                io.restart();
                bool vdone = false;
                asio::co_spawn(io, check_via_api(chk, api, o, st.users, failure), [&](std::exception_ptr e) {
                    if (e && failure.empty()) failure = "verification failed with an exception";
                    vdone = true;
                    io.stop();
                });
                io.run();
                if (!vdone && failure.empty()) failure = "verification did not finish";
            }
            chk.report(s, st.delivered, failure);
            if (!o.json) print_verification(s);
        }

        // ---- the peer (libcurl) and wrk, against the same server, in the same loop
        if (o.compare && st.interrupted) {
            s.compare_note = "not run: the run was interrupted";
        } else if (o.compare && st.delivered == 0) {
            s.compare_note = "not run: no call succeeded, there is nothing to compare";
        } else if (o.compare) {
            s.compare_ran = true;
            if (srv) srv->reset();  // same starting state for the peer: empty conversations
            peer_target tgt;
            tgt.base_url = cp.base_url;
            tgt.app = o.app;
            tgt.auth_header = auth_header;
            tgt.ca_pem = ca_pem;
            tgt.ca_file = o.ca_file;
            tgt.insecure = o.insecure;
            run_peer(argv[0], tgt, o, st.started, secs, s);
            if (srv && s.peer_ok) {
                // The peer's messages went through the same mock: check them too (exactly once, every one).
                std::vector<bool> all(st.started + 1, true);
                delivery_check pchk(st.started, all);
                check_record(pchk, srv->record(), o.app, "peer-");
                s.peer_verify_ran = true;
                s.peer_verified = pchk.ok();
            }
            if (srv) srv->reset();
            if (o.rate > 0) s.wrk_note = "wrk runs closed loop only, and this run is open loop (--rate)";
            else run_wrk(tgt, o, s, secs);
            if (!o.json) print_compare(s);
        }
        if (o.compare && !s.compare_ran && !o.json) std::printf("compare: %s\n", s.compare_note.c_str());

        // ---- files
        int rc = st.failed || (s.verify_ran && !s.verified) ? 1 : 0;
        if (o.compare && s.compare_ran && (!s.peer_ok || (srv && !s.peer_verified))) rc = 1;
        std::string err;
        auto write = [&](const std::string& path, const std::string& text, const char* flag) {
            if (path.empty()) return;
            if (!write_file(path, text, err)) {
                std::fprintf(stderr, "smooch-bench: %s: %s\n", flag, err.c_str());
                rc = 1;
            } else if (!o.json) {
                std::printf("%s: %s\n", flag + 2, path.c_str());
            }
        };
        write(o.plot, plot_svg(st.hist, s.peer_ok ? &s.peer_latency : nullptr, o), "--plot");
        write(o.hgrm, percentile_spectrum(st.hist), "--hgrm");
        write(o.csv, percentile_csv(st.hist), "--csv");
        if (!o.outcomes.empty() && !o.json) std::printf("outcomes: %s\n", o.outcomes.c_str());
        if (o.latency) std::printf("latency spectrum (delivered calls, ms):\n%s", percentile_spectrum(st.hist).c_str());
        stop_mock();
        if (st.interrupted) rc = 130;
        s.ok = rc == 0;
        if (o.json) std::printf("%s\n", summary_json(s, o, cp.base_url, in_process).c_str());
        if (st.abandoned) {
            // Calls were left in flight on `io`: end here rather than tear the client down under them.
            std::fflush(stdout);
            std::fflush(stderr);
            std::_Exit(rc);
        }
        return rc;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "smooch-bench: %s\n", e.what());
        return 1;
    }
}

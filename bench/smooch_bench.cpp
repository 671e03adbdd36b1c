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

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
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

struct run_state {
    const options* opt = nullptr;
    smooch::conversation_api* api = nullptr;
    std::vector<std::string> users;  // M ids, not per message
    std::uint64_t next = 1;          // next sequence number to send (1..N)
    std::uint64_t done = 0;
    std::uint64_t errors = 0;
    std::map<std::string, std::uint64_t> error_kinds;  // bounded by the number of distinct error kinds
    std::string first_error;
    hdr_histogram hist;
    clk::time_point t0;
    clk::time_point t_stop = clk::time_point::max();  // --duration: no new calls from then on
    unsigned workers_left = 0;
    std::exception_ptr failure;
    bool finished = false;
};

asio::awaitable<void> worker(run_state& st)
{
    const options& o = *st.opt;
    // One message object per worker, updated in place: the bench itself should not allocate per call
    // more than building "seq N" requires.
    smooch::message_post m;
    m.role = smooch::role::app_maker;
    m.type = smooch::message_type::text;
    m.metadata.emplace();
    smooch::call_options opts;  // named: g++ 12 double-destroys braced temporaries inside co_await
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const double interval_ns = o.rate > 0 ? 1e9 / o.rate : 0;
    while (st.next <= o.messages) {
        if (o.duration_s > 0 && clk::now() >= st.t_stop) break;  // in-flight calls still complete
        const std::uint64_t seq = st.next++;
        clk::time_point start = clk::now();
        if (o.rate > 0) {
            // Open loop: request `seq` is due at t0 + (seq-1)/R whatever happened before; latency counts
            // from that intended time, so a stalled server is charged for the requests it delayed.
            const auto intended =
                st.t0 + std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(seq - 1) * interval_ns));
            if (intended > start) {
                timer.expires_at(intended);
                co_await timer.async_wait(asio::use_awaitable);
            }
            start = intended;
        }
        m.text = "seq " + std::to_string(seq);
        (*m.metadata)["seq"] = seq;
        const std::string& user = st.users[(seq - 1) % st.users.size()];
        smooch::diagnostics diag;
        auto [ec, r] =
            co_await st.api->async_post_message(o.app, user, m, diag, opts, asio::as_tuple(asio::use_awaitable));
        st.hist.record(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(clk::now() - start).count()));
        ++st.done;
        if (ec) {
            ++st.errors;
            std::string kind = ec.message();
            if (diag.status) kind += " (HTTP " + std::to_string(diag.status) + ")";
            if (st.error_kinds.size() < 32 || st.error_kinds.count(kind)) ++st.error_kinds[kind];
            if (st.first_error.empty()) st.first_error = smooch::describe(ec, diag);
        }
    }
}

asio::awaitable<void> progress(run_state& st)
{
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const std::uint64_t n = st.opt->messages;
    while (!st.finished) {
        timer.expires_after(std::chrono::milliseconds(200));
        co_await timer.async_wait(asio::use_awaitable);
        if (st.finished) break;
        const double secs = std::chrono::duration<double>(clk::now() - st.t0).count();
        const int width = 40;
        const double fraction = st.opt->duration_s > 0 && n == 1'000'000'000
                                    ? std::min(1.0, secs / st.opt->duration_s)
                                    : static_cast<double>(st.done) / static_cast<double>(n);
        const int filled = static_cast<int>(static_cast<double>(width) * fraction);
        std::string bar(static_cast<std::size_t>(filled), '=');
        bar.resize(static_cast<std::size_t>(width), ' ');
        std::printf("\r[%s] %3d%%  %" PRIu64 " sent  %.0f msg/s  errors %" PRIu64 "   ", bar.c_str(),
                    static_cast<int>(100.0 * fraction), st.done, secs > 0 ? static_cast<double>(st.done) / secs : 0.0,
                    st.errors);
        std::fflush(stdout);
    }
    std::printf("\r%*s\r", 110, "");
    std::fflush(stdout);
}

// --------------------------------------------------------------------------------------------- verification

// Marks sequence numbers seen in a bitmap (N bits, allocated only for verification, after the timed run).
struct delivery_check {
    std::uint64_t n;
    std::vector<bool> seen;
    std::uint64_t unique = 0, duplicates = 0, foreign = 0, metadata_mismatch = 0;
    std::vector<std::uint64_t> dup_examples;
    explicit delivery_check(std::uint64_t count) : n(count), seen(count + 1, false) {}

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
            ++unique;
        }
    }
    std::uint64_t lost() const { return n - unique; }
    bool ok() const { return unique == n && duplicates == 0 && metadata_mismatch == 0; }
    std::string lost_examples() const
    {
        std::string s;
        int k = 0;
        for (std::uint64_t i = 1; i <= n && k < 10; ++i)
            if (!seen[i]) {
                s += (k++ ? ", " : "") + std::to_string(i);
            }
        return s;
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
            smooch::call_options opts;
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

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

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
        cp.tls.insecure_skip_verify = o.insecure;
        cp.pool.max_connections = o.connections;
        cp.pool.max_waiters = std::max<std::size_t>(cp.pool.max_waiters, o.concurrency);
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

        const bool tty = isatty(1) && !o.json;
        if (!o.json) {
            const std::string amount = o.duration_s > 0 && o.messages == 1'000'000'000 ? fmt("%g s of", o.duration_s)
                                                                                       : std::to_string(o.messages);
            std::printf("smooch-bench: %s messages to %zu users, %zu in flight over %zu connections, %s\n",
                        amount.c_str(), o.users, o.concurrency, o.connections,
                        o.rate > 0 ? ("open loop at " + fmt("%.0f", o.rate) + " messages/s").c_str() : "closed loop");
            std::printf("server: %s (%s)\n", cp.base_url.c_str(),
                        in_process ? "in-process smooch-mock over TLS, own thread" : "--url");
            std::fflush(stdout);
        }

        const double cpu0 = thread_cpu_us();
        const double sys0 = thread_cpu_us(true);
        const double pcpu0 = process_cpu_us();
        const double mcpu0 = in_process ? other_thread_cpu_us(mock_thread.native_handle()) : 0;
        st.t0 = clk::now();
        if (o.duration_s > 0)
            st.t_stop = st.t0 + std::chrono::duration_cast<clk::duration>(std::chrono::duration<double>(o.duration_s));
        clk::time_point t_end;
        st.workers_left = static_cast<unsigned>(std::min<std::uint64_t>(o.concurrency, o.messages));
        for (unsigned i = 0, n = st.workers_left; i < n; ++i) {
            asio::co_spawn(io, worker(st), [&](std::exception_ptr e) {
                if (e && !st.failure) st.failure = e;
                if (--st.workers_left == 0) {
                    t_end = clk::now();
                    st.finished = true;
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
            std::printf("\r%*s\r", 110, "");
            std::fflush(stdout);
        }
        if (st.failure) std::rethrow_exception(st.failure);
        o.messages = st.next - 1;  // what was sent: a --duration run decides N as it goes
        if (o.messages == 0) throw std::runtime_error("no message was sent");

        const double secs = std::chrono::duration<double>(t_end - st.t0).count();
        const auto ctr = client.counters();
        const std::uint64_t retries =
            ctr.retries_connect + ctr.retries_throttled + ctr.retries_server_error + ctr.retries_transport;
        const double n = static_cast<double>(o.messages);

        summary s;
        s.messages = o.messages;
        s.seconds = secs;
        s.messages_per_s = n / secs;
        s.cpu_us_per_msg = cpu_us / n;
        s.system_cpu_us_per_msg = sys_us / n;
        s.process_cpu_us_per_msg = pcpu_us / n;
        s.mock_cpu_us_per_msg = mcpu_us / n;
        s.peak_rss_kb = rss_kb;
        s.connections_opened = ctr.connections_opened;
        s.connections_reused = ctr.connections_reused;
        s.retries = retries;
        s.stale_replays = ctr.stale_replays;
        s.errors = st.errors;
        s.error_kinds = st.error_kinds;
        s.first_error = st.first_error;
        for (double p : {50.0, 90.0, 99.0, 99.9}) s.latency_ms.push_back({p, ms(st.hist.percentile(p))});
        s.latency_ms.push_back({100.0, ms(st.hist.max())});
        s.latency_mean_ms = st.hist.mean() / 1e6;

        if (!o.json) print_summary(s, in_process);

        // ---- verification
        int rc = st.errors ? 1 : 0;
        if (o.verify) {
            delivery_check chk(o.messages);
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
            s.verified = chk.ok() && failure.empty();
            s.lost = chk.lost();
            s.duplicated = chk.duplicates;
            s.foreign = chk.foreign;
            s.metadata_mismatch = chk.metadata_mismatch;
            if (s.verified) {
                s.verify_text = "verified: " + std::to_string(o.messages) + " messages, 0 lost, 0 duplicated";
            } else {
                rc = 1;
                std::string t = "NOT verified: " + std::to_string(chk.unique) + " of " + std::to_string(o.messages) +
                                " messages arrived, " + std::to_string(chk.lost()) + " lost, " +
                                std::to_string(chk.duplicates) + " duplicated";
                if (chk.metadata_mismatch)
                    t += ", " + std::to_string(chk.metadata_mismatch) + " with metadata.seq not matching the text";
                if (chk.lost()) t += "; first lost: " + chk.lost_examples();
                if (!chk.dup_examples.empty()) {
                    t += "; duplicated:";
                    for (auto d : chk.dup_examples) t += " " + std::to_string(d);
                }
                if (!failure.empty()) t += "; " + failure;
                s.verify_text = t;
            }
            if (!o.json) std::printf("%s\n", s.verify_text.c_str());
        }
        if (!o.plot.empty()) {
            std::string err;
            if (!write_plot_svg(o.plot, st.hist, o, err)) {
                std::fprintf(stderr, "smooch-bench: --plot: %s\n", err.c_str());
                rc = 1;
            } else if (!o.json) {
                std::printf("plot: %s\n", o.plot.c_str());
            }
        }

        // ---- the peer (libcurl) and wrk, against the same server
        if (o.compare) {
            if (srv) srv->reset();  // same starting state for the peer: empty conversations
            peer_target tgt;
            tgt.base_url = cp.base_url;
            tgt.app = o.app;
            tgt.auth_header = auth_header;
            tgt.ca_pem = ca_pem;
            tgt.ca_file = o.ca_file;
            tgt.insecure = o.insecure;
            if (!run_peer(argv[0], tgt, o, s)) rc = 1;
            if (srv && s.peer_ok) {
                // The peer's messages went through the same mock: check them too (exactly once).
                delivery_check pchk(o.messages);
                check_record(pchk, srv->record(), o.app, "peer-");
                s.peer_verified = pchk.ok();
                if (!pchk.ok()) rc = 1;
            }
            if (srv) srv->reset();
            run_wrk(tgt, o, s, secs);
            if (!o.json) print_compare(s);
        }
        stop_mock();
        if (o.json) std::printf("%s\n", summary_json(s, o, cp.base_url, in_process).c_str());
        return rc;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "smooch-bench: %s\n", e.what());
        return 1;
    }
}

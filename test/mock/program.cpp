// SPDX-License-Identifier: BSL-1.0
// The smooch-mock program: started with options, it prints its "listening on" line, serves what they ask for
// and stops cleanly on SIGINT/SIGTERM; usage errors exit 2. Needs SMOOCH_MOCK_EXE, the program's path.

#define BOOST_TEST_MODULE smooch_mock_program
#include "wire.hpp"

#include <smooch/version.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SMOOCH_MOCK_EXE
#error "SMOOCH_MOCK_EXE must name the smooch-mock program (test/mock/CMakeLists.txt)"
#endif

using namespace mock_test;

namespace {

/// smooch-mock started with `args`, its stdout piped to the test (stderr inherited, for diagnostics). The
/// destructor kills it (SIGKILL) if a failed assertion left it running.
struct mock_process {
    explicit mock_process(const std::vector<std::string>& args)
    {
        int out[2];
        BOOST_REQUIRE(pipe2(out, O_CLOEXEC) == 0);
        std::vector<std::string> all{SMOOCH_MOCK_EXE};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : all) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid = fork();
        BOOST_REQUIRE(pid >= 0);
        if (pid == 0) {
            dup2(out[1], 1);  // the duplicate does not inherit O_CLOEXEC
            execv(SMOOCH_MOCK_EXE, argv.data());
            _exit(127);
        }
        close(out[1]);
        fd = out[0];
    }
    ~mock_process()
    {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
        if (fd >= 0) close(fd);
    }
    mock_process(const mock_process&) = delete;
    mock_process& operator=(const mock_process&) = delete;

    static constexpr int eof = -1, timed_out = -2;
    /// One byte of stdout, eof, or timed_out if none came before `until`.
    int next_byte(std::chrono::steady_clock::time_point until)
    {
        for (int i = 0; i < 1000; ++i) {  // retries only after EINTR
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
            if (left.count() <= 0) return timed_out;
            pollfd pfd{fd, POLLIN, 0};
            int n = poll(&pfd, 1, static_cast<int>(left.count()));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return timed_out;
            char ch;
            auto r = read(fd, &ch, 1);
            if (r < 0 && errno == EINTR) continue;
            return r == 1 ? static_cast<unsigned char>(ch) : eof;
        }
        return timed_out;
    }
    /// The first line of stdout (without its newline), waiting at most `limit`; whatever came otherwise.
    std::string first_line(std::chrono::steady_clock::duration limit = io_timeout)
    {
        auto until = std::chrono::steady_clock::now() + limit;
        std::string line;
        for (int c = next_byte(until); c >= 0 && c != '\n' && line.size() < 1000; c = next_byte(until))
            line += static_cast<char>(c);
        return line;
    }
    /// Sends `sig` and waits at most `limit` for the program to exit: its wait status, or nullopt if it is still
    /// running. The wait is on the program's stdout reaching EOF (it closes when the process ends), then on
    /// waitpid, both bounded.
    std::optional<int> stop(int sig, std::chrono::steady_clock::duration limit = 5s)
    {
        kill(pid, sig);
        auto until = std::chrono::steady_clock::now() + limit;
        int c = 0;
        for (int i = 0; i < 100'000 && c >= 0; ++i) c = next_byte(until);
        if (c == timed_out) return std::nullopt;
        for (int i = 0; i < 2000 && std::chrono::steady_clock::now() < until; ++i) {
            int st = 0;
            if (waitpid(pid, &st, WNOHANG) == pid) {
                pid = -1;
                return st;
            }
            poll(nullptr, 0, 5);
        }
        return std::nullopt;
    }
    pid_t pid = -1;
    int fd = -1;
};

bool exited_0(const std::optional<int>& st) { return st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0; }

/// PORT of a "listening on SCHEME://127.0.0.1:PORT" line; 0 if the line is not that.
unsigned short listening_port(const std::string& line, const std::string& scheme)
{
    auto prefix = "listening on " + scheme + "://127.0.0.1:";
    if (line.rfind(prefix, 0) != 0) return 0;
    auto digits = line.substr(prefix.size());
    unsigned port = 0;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (r.ec != std::errc{} || r.ptr != digits.data() + digits.size() || port == 0 || port > 65535) return 0;
    return static_cast<unsigned short>(port);
}

struct temp_dir {
    temp_dir()
    {
        char t[] = "/tmp/smooch-mock-test-XXXXXX";
        BOOST_REQUIRE(mkdtemp(t));
        path = t;
    }
    ~temp_dir()
    {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name, const std::string& content)
    {
        auto p = path + "/" + name;
        std::ofstream f(p, std::ios::binary);
        f << content;
        BOOST_REQUIRE(f.flush());
        return p;
    }
    std::string path;
};

/// A port that was free a moment ago: bound with port 0 (the OS chooses), then released.
unsigned short free_port()
{
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(program)

BOOST_AUTO_TEST_CASE(program_prints_listening_and_stops_on_sigterm, *boost::unit_test::timeout(guard))
{
    temp_dir dir;
    auto ca_path = dir.path + "/ca.pem";
    mock_process prog(
        {"--self-signed", "--write-ca", ca_path, "--key-id", "k", "--secret", "s", "--fault", "status=503,count=1"});
    auto line = prog.first_line();
    BOOST_TEST_INFO("line: " << line);
    auto port = listening_port(line, "https");
    BOOST_REQUIRE(port != 0);
    {
        std::ifstream f(ca_path);
        std::string pem((std::istreambuf_iterator<char>(f)), {});
        BOOST_TEST(pem.find("BEGIN CERTIFICATE") != std::string::npos);
        // The program's CA differs from shared_tls(): verify with a TLS client of its own.
        asio::io_context cio;
        ssl::context ctx(ssl::context::tls_client);
        ctx.add_certificate_authority(asio::buffer(pem));
        ctx.set_verify_mode(ssl::verify_peer);
        ssl::stream<tcp::socket> s(cio, ctx);
        s.set_verify_callback(ssl::host_name_verification("localhost"));
        SSL_set_tlsext_host_name(s.native_handle(), "localhost");
        error_code ec;
        bool done = false;
        s.next_layer().async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), [&](error_code e) {
            if (e) {
                ec = e;
                done = true;
                return;
            }
            s.async_handshake(ssl::stream_base::client, [&](error_code e2) {
                ec = e2;
                done = true;
            });
        });
        cio.run_for(io_timeout);
        BOOST_TEST(done);
        BOOST_TEST(!ec, ec.message());
        http::request<http::string_body> req{http::verb::get, "/v1.1/apps/a/appusers/u/messages", 11};
        req.set(http::field::host, "localhost");
        req.set(http::field::authorization, basic_std("k", "s"));
        boost::beast::flat_buffer b;
        response r1, r2;
        done = false;
        http::async_write(s, req, [&](error_code e, std::size_t) {
            if (e) {
                done = true;
                return;
            }
            http::async_read(s, b, r1, [&](error_code, std::size_t) {
                http::async_write(s, req, [&](error_code, std::size_t) {
                    http::async_read(s, b, r2, [&](error_code, std::size_t) { done = true; });
                });
            });
        });
        cio.restart();
        cio.run_for(io_timeout);
        BOOST_TEST(done);
        BOOST_TEST(r1.result_int() == 503u);  // --fault
        BOOST_TEST(r2.result_int() == 404u);  // no conversation yet
    }
    auto st = prog.stop(SIGTERM);
    BOOST_TEST(exited_0(st), "wait status " << st.value_or(-1));
}

// The options, one program run each: what it prints, what it serves, and that SIGINT stops it cleanly (exit 0
// within a bounded wait) while a keep-alive connection is open (idle_timeout is 60 s: a program that left it
// open would not exit in time).
BOOST_AUTO_TEST_CASE(program_options_end_to_end, *boost::unit_test::timeout(guard))
{
    temp_dir dir;
    // --tls-cert/--tls-key: shared_tls(), the CA every `client` trusts. A program that ignored the files and
    // generated its own certificate would fail the clients' verification.
    std::vector<std::string> tls{"--tls-cert", dir.file("cert.pem", shared_tls().cert_pem), "--tls-key",
                                 dir.file("key.pem", shared_tls().key_pem)};
    auto with_tls = [&](std::vector<std::string> more) {
        more.insert(more.begin(), tls.begin(), tls.end());
        return more;
    };
    struct row {
        std::string name;
        std::vector<std::string> args;
        bool tls = true;
        bool fixed_port = false;  // pick a free port and pass --port
        std::function<void(unsigned short)> check;
    };
    std::vector<row> rows{
        {"--plain",
         {"--plain"},
         false,
         false,
         [](unsigned short port) {
             client c(port, false);
             check_error(c.request(http::verb::get, "/x"), 404, "not_found");
             client t(client::deferred, port);  // a TLS client gets no handshake
             BOOST_TEST(!!t.try_connect());
         }},
        {"--tls-cert/--tls-key", tls, true, false,
         [](unsigned short port) {
             client c(port);  // verifies the chain to shared_tls().ca_pem and the name "localhost"
             check_error(c.request(http::verb::get, "/x"), 404, "not_found");
             client other(client::deferred, port, true, mock::generate_tls().ca_pem);  // trusts another CA
             auto ec = other.try_connect();
             BOOST_TEST((ec.category() == asio::error::get_ssl_category()), ec.message());
             BOOST_TEST(ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED,
                        ec.message());
         }},
        {"--port", tls, true, true,
         [](unsigned short port) {
             client c(port);
             check_error(c.request(http::verb::get, "/x"), 404, "not_found");
         }},
        {"--rate-limit --burst", with_tls({"--rate-limit", "0.01", "--burst", "3", "--rate-limit-retry-after"}), true,
         false,
         [](unsigned short port) {
             client c(port);
             for (int i = 0; i < 3; ++i)  // 404: through the limiter, to a conversation that does not exist
                 check_error(c.request(http::verb::get, msgs_path("a", "u")), 404, "conversation_not_found");
             auto r = c.request(http::verb::get, msgs_path("a", "u"));
             check_error(r, 429, "too_many_requests");
             int retry_after = 0;
             auto v = r[http::field::retry_after];
             auto res = std::from_chars(v.data(), v.data() + v.size(), retry_after);
             BOOST_TEST((res.ec == std::errc{} && res.ptr == v.data() + v.size()), "Retry-After: " << v);
             BOOST_TEST(retry_after >= 1);
             check_error(c.request(http::verb::get, msgs_path("b", "u")), 404, "conversation_not_found");  // per app
         }},
        {"--rate-limit (429 without Retry-After, as Smooch)", with_tls({"--rate-limit", "0.01", "--burst", "1"}), true,
         false,
         [](unsigned short port) {
             client c(port);
             check_error(c.request(http::verb::get, msgs_path("a", "u")), 404, "conversation_not_found");
             auto r = c.request(http::verb::get, msgs_path("a", "u"));
             check_error(r, 429, "too_many_requests");
             BOOST_TEST((r.find(http::field::retry_after) == r.end()));
         }},
        {"--host localhost", with_tls({"--host", "localhost"}), true, false,
         [](unsigned short port) {
             client c(port);  // 127.0.0.1 (the listening line says so), verifying the name "localhost"
             check_error(c.request(http::verb::get, "/x"), 404, "not_found");
         }},
        {"--admin", with_tls({"--admin"}), true, false,
         [](unsigned short port) {
             client c(port);
             auto r = c.request(http::verb::get, "/_admin/record", {}, "");
             BOOST_TEST(r.result_int() == 200u);
             BOOST_TEST(body_of(r).contains("requests_total"));
             BOOST_TEST(c.request(http::verb::post, "/_admin/faults", "status=502,count=1", "").result_int() == 200u);
             check_error(c.request(http::verb::get, "/x"), 502, "bad_gateway");
             check_error(c.request(http::verb::get, "/x"), 404, "not_found");
         }},
        {"no --admin", tls, true, false,
         [](unsigned short port) {
             client c(port);
             check_error(c.request(http::verb::get, "/_admin/record", {}, ""), 404, "not_found");
             check_error(c.request(http::verb::post, "/_admin/faults", "status=502,count=1", ""), 404, "not_found");
             check_error(c.request(http::verb::get, "/x"), 404, "not_found");  // no fault was added
         }},
        {"--key-id --secret --key-app",
         with_tls({"--key-id", "appkey", "--secret", "s1", "--key-app", "app1", "--key-id", "acct", "--secret", "s2"}),
         true, false,
         [](unsigned short port) {
             client c(port);
             auto get = [&](const std::string& app, const std::string& auth) {
                 return c.request(http::verb::get, msgs_path(app, "u"), {}, auth);
             };
             check_error(get("app1", ""), 401, "unauthorized");
             check_error(get("app1", basic_std("appkey", "s2")), 401, "invalid_auth");  // another key's secret
             check_error(get("app1", basic_std("appkey", "s1")), 404, "conversation_not_found");
             check_error(get("app2", basic_std("appkey", "s1")), 403, "forbidden");  // an app key, for app1 only
             check_error(get("app2", basic_std("acct", "s2")), 404, "conversation_not_found");  // account key
             auto jwt_app = bearer("appkey", R"({"scope":"app"})", "s1");
             BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("hi"), jwt_app).result_int() ==
                        201u);
             check_error(c.request(http::verb::post, msgs_path("app2", "u"), text_msg("hi"), jwt_app), 403,
                         "forbidden");
         }},
    };
    for (auto& r : rows) {
        BOOST_TEST_CONTEXT("row " << r.name)
        {
            auto args = r.args;
            unsigned short want = 0;
            if (r.fixed_port) {
                want = free_port();
                args.insert(args.end(), {"--port", std::to_string(want)});
            }
            mock_process prog(args);
            auto line = prog.first_line();
            BOOST_TEST_INFO("line: " << line);
            auto port = listening_port(line, r.tls ? "https" : "http");
            BOOST_REQUIRE(port != 0);
            if (r.fixed_port) BOOST_TEST(port == want);
            r.check(port);
            client idle(port, r.tls);  // served, then left open (keep-alive)
            BOOST_TEST(idle.request(http::verb::get, "/x", {}, "").keep_alive());
            auto t0 = std::chrono::steady_clock::now();
            auto st = prog.stop(SIGINT);
            BOOST_TEST(exited_0(st), "wait status " << st.value_or(-1));
            BOOST_TEST((std::chrono::steady_clock::now() - t0 < io_timeout));
            auto ec = idle.wait_closed();
            BOOST_TEST((ec && ec != asio::error::timed_out), ec.message());
        }
    }
}

// --seed: random faults (probability) give the same outcomes for the same seed, run after run.
BOOST_AUTO_TEST_CASE(program_seed_repeats_random_faults, *boost::unit_test::timeout(guard))
{
    auto outcomes = [](const std::string& seed) {
        mock_process prog({"--plain", "--seed", seed, "--fault", "status=503,probability=0.5"});
        auto line = prog.first_line();
        auto port = listening_port(line, "http");
        BOOST_REQUIRE_MESSAGE(port != 0, "line: " << line);
        client c(port, false);
        std::string seq;
        for (int i = 0; i < 20; ++i) {
            auto st = c.request(http::verb::get, "/x").result_int();  // the fault, or the unknown path's 404
            BOOST_TEST((st == 503u || st == 404u), st);
            seq += st == 503u ? 'F' : '.';
        }
        BOOST_TEST(exited_0(prog.stop(SIGINT)));
        return seq;
    };
    auto a = outcomes("42"), b = outcomes("42"), other = outcomes("4242");
    BOOST_TEST_MESSAGE("seed 42: " << a << ", seed 4242: " << other);
    BOOST_TEST(a == b);
    BOOST_TEST(a != other);
    BOOST_TEST(a.find('F') != std::string::npos);  // really random: both outcomes occur
    BOOST_TEST(a.find('.') != std::string::npos);
}

BOOST_AUTO_TEST_CASE(program_usage_errors, *boost::unit_test::timeout(guard))
{
    auto run = [](const std::string& args) {
        // `timeout`: a program that wrongly accepts its arguments starts serving; it must not hang the test.
        std::string cmd = "timeout 10 " + std::string(SMOOCH_MOCK_EXE) + " " + args + " >/dev/null 2>&1";
        int st = std::system(cmd.c_str());
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    };
    BOOST_TEST(run("--help") == 0);
    BOOST_TEST(run("--bogus") == 2);
    BOOST_TEST(run("--key-id k") == 2);
    BOOST_TEST(run("--secret s") == 2);
    BOOST_TEST(run("--fault nope") == 2);
    BOOST_TEST(run("--plain --self-signed") == 2);
    BOOST_TEST(run("--port notanumber") == 2);
    for (auto opt : {"--idle-timeout", "--header-timeout", "--body-timeout"}) {
        for (auto v : {"-1", "0", "-60000", "86400001", "1.5"}) {
            BOOST_TEST_CONTEXT(opt << " " << v) { BOOST_TEST(run(std::string(opt) + " " + v + " --plain") == 2); }
        }
    }
    BOOST_TEST(run("--header-limit 10 --plain") == 2);  // rejected by server_params: a usage error too
    BOOST_TEST(run("--tls-cert /nonexistent --tls-key /nonexistent") == 1);
}

// Every error names the flag the user typed (never a server_params field), and --version says what runs.
BOOST_AUTO_TEST_CASE(program_errors_name_the_flag, *boost::unit_test::timeout(guard))
{
    auto run = [](const std::string& args) {
        std::string cmd = "timeout 10 " + std::string(SMOOCH_MOCK_EXE) + " " + args + " 2>&1";
        std::string out;
        std::FILE* f = popen(cmd.c_str(), "r");
        BOOST_REQUIRE(f);
        char buf[512];
        while (std::fgets(buf, sizeof buf, f)) out += buf;
        int st = pclose(f);
        return std::pair<int, std::string>(WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
    };
    auto [vst, vout] = run("--version");
    BOOST_TEST(vst == 0);
    BOOST_TEST(vout == std::string("smooch-mock ") + SMOOCH_VERSION_STRING + "\n");
    struct bad {
        const char* args;
        const char* flag;
    };
    for (auto [args, flag] : std::vector<bad>{{"--rate-limit 0", "--rate-limit"},
                                              {"--rate-limit -5", "--rate-limit"},
                                              {"--rate-limit 1 --burst 0.5", "--burst"},
                                              {"--rate-limit-retry-after", "--rate-limit-retry-after"},
                                              {"--header-limit 10", "--header-limit"},
                                              {"--max-connections 0", "--max-connections"},
                                              {"--idle-timeout 0", "--idle-timeout"},
                                              {"--fault nope", "--fault"},
                                              {"--key-id '' --secret s", "--key-id"},
                                              {"--host no-such-host.invalid", "--host"},
                                              {"--host 999.1.1.1", "--host"}}) {
        BOOST_TEST_CONTEXT(args)
        {
            auto [st, out] = run(std::string(args) + " --plain");
            BOOST_TEST(st == 2);
            BOOST_TEST(out.rfind(std::string("smooch-mock: ") + flag, 0) == 0u, out);
            BOOST_TEST(out.find("server_params") == std::string::npos, out);
            BOOST_TEST(out.find("Invalid argument") == std::string::npos, out);
        }
    }
    // An address this machine does not have: a runtime error naming the flags, exit 1.
    auto [st, out] = run("--host 192.0.2.1 --plain");
    BOOST_TEST(st == 1);
    BOOST_TEST(out.find("--host") != std::string::npos, out);
}

BOOST_AUTO_TEST_SUITE_END()

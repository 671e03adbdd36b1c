// SPDX-License-Identifier: BSL-1.0
// Definitions of support.hpp.

#include "support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <list>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace webhook_test {

namespace beast = boost::beast;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds limit)
{
    const auto until = clock_type::now() + limit;
    while (!cond()) {
        if (clock_type::now() >= until) return cond();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

// ------------------------------------------------------------------------------------------------ receiver

struct receiver::impl {
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    std::optional<ssl::context> tls;
    answer_fn answer;
    std::chrono::milliseconds delay{0};
    mutable std::mutex mu;
    std::vector<received> got;
    std::size_t open = 0, max_open = 0;            // requests read and not yet answered
    std::list<std::shared_ptr<tcp::socket>> held;  // never answered
    std::thread th;

    template <class Stream>
    asio::awaitable<void> serve(Stream& s, std::shared_ptr<tcp::socket> sock)
    {
        beast::flat_buffer buf;
        http::request<http::string_body> req;
        auto [ec, n] = co_await http::async_read(s, buf, req, tuple_awaitable);
        if (ec) co_return;
        received r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        r.body = req.body();
        for (auto& f : req) {
            std::string name(f.name_string());
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            r.headers[name] = std::string(f.value());
        }
        r.at = clock_type::now();
        std::size_t index;
        {
            std::lock_guard lock(mu);
            index = got.size();
            got.push_back(r);
        }
        const int status = answer ? answer(index, r) : 200;
        {
            // Counted from the request read to the answer sent: the sender's delivery is under way all along.
            std::lock_guard lock(mu);
            max_open = std::max(max_open, ++open);
        }
        if (status < 0) {
            std::lock_guard lock(mu);
            held.push_back(sock);
            co_return;
        }
        if (delay.count() > 0) {
            asio::steady_timer t(io, delay);
            co_await t.async_wait(tuple_awaitable);
        }
        {
            std::lock_guard lock(mu);
            --open;
        }
        http::response<http::string_body> res{static_cast<http::status>(status), 11};
        res.body() = "ok";
        res.keep_alive(false);
        res.prepare_payload();
        co_await http::async_write(s, res, tuple_awaitable);
    }

    asio::awaitable<void> connection(std::shared_ptr<tcp::socket> sock)
    {
        if (tls) {
            ssl::stream<tcp::socket&> s(*sock, *tls);
            auto [ec] = co_await s.async_handshake(ssl::stream_base::server, tuple_awaitable);
            if (!ec) co_await serve(s, sock);
        } else {
            co_await serve(*sock, sock);
        }
    }

    asio::awaitable<void> accept()
    {
        for (;;) {
            auto sock = std::make_shared<tcp::socket>(io);
            auto [ec] = co_await acceptor.async_accept(*sock, tuple_awaitable);
            if (ec) co_return;
            asio::co_spawn(io, connection(sock), asio::detached);
        }
    }
};

receiver::receiver(answer_fn answer, bool tls, std::chrono::milliseconds delay) : p_(std::make_unique<impl>())
{
    p_->answer = std::move(answer);
    p_->delay = delay;
    if (tls) {
        p_->tls.emplace(ssl::context::tls_server);
        p_->tls->use_certificate_chain(asio::buffer(shared_tls().cert_pem));
        p_->tls->use_private_key(asio::buffer(shared_tls().key_pem), ssl::context::pem);
    }
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    p_->acceptor.open(ep.protocol());
    p_->acceptor.bind(ep);
    p_->acceptor.listen();
    port_ = p_->acceptor.local_endpoint().port();
    asio::co_spawn(p_->io, p_->accept(), asio::detached);
    p_->th = std::thread([this] { p_->io.run(); });
}

receiver::~receiver()
{
    p_->io.stop();
    p_->th.join();
}

std::string receiver::url(const std::string& path) const
{
    return std::string(p_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<received> receiver::requests() const
{
    std::lock_guard lock(p_->mu);
    return p_->got;
}

std::size_t receiver::count() const
{
    std::lock_guard lock(p_->mu);
    return p_->got.size();
}

std::size_t receiver::max_concurrent() const
{
    std::lock_guard lock(p_->mu);
    return p_->max_open;
}

// --------------------------------------------------------------------------------------------------- child

child::child(const std::string& exe, const std::vector<std::string>& args, const std::vector<std::string>& env)
{
    int out[2], err[2];
    BOOST_REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    BOOST_REQUIRE(pipe2(err, O_CLOEXEC) == 0);
    std::vector<std::string> all{exe};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> envs = env;
    pid_ = fork();
    BOOST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        for (auto& e : envs) putenv(e.data());
        // The signals the test sends must reach the program's handlers, whatever the test inherited.
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        execv(exe.c_str(), argv.data());
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
}

child::~child()
{
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
}

void child::pump(std::chrono::milliseconds limit)
{
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    int n = poll(fds, 2, static_cast<int>(limit.count()));
    if (n <= 0) return;
    char buf[4096];
    for (int i = 0; i < 2; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        auto r = read(fds[i].fd, buf, sizeof buf);
        if (r > 0) (i == 0 ? out_ : err_).append(buf, static_cast<std::size_t>(r));
        else if (r == 0) {  // EOF: stop polling it
            close(fds[i].fd);
            (i == 0 ? out_fd_ : err_fd_) = -1;
        }
    }
}

std::optional<std::string> child::line(std::chrono::milliseconds limit)
{
    const auto until = clock_type::now() + limit;
    for (int i = 0; i < 100'000; ++i) {
        auto nl = out_.find('\n', out_pos_);
        if (nl != std::string::npos) {
            std::string l = out_.substr(out_pos_, nl - out_pos_);
            out_pos_ = nl + 1;
            return l;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now());
        if (left.count() <= 0 || (out_fd_ < 0 && err_fd_ < 0)) return std::nullopt;
        if (out_fd_ < 0) return std::nullopt;
        pump(left);
    }
    return std::nullopt;
}

std::optional<int> child::wait(std::chrono::milliseconds limit)
{
    const auto until = clock_type::now() + limit;
    for (int i = 0; i < 100'000; ++i) {
        int st = 0;
        if (pid_ > 0 && waitpid(pid_, &st, WNOHANG) == pid_) {
            pid_ = -1;
            while (out_fd_ >= 0 || err_fd_ >= 0) pump(std::chrono::milliseconds(100));  // the rest of the output
            return st;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now());
        if (left.count() <= 0) return std::nullopt;
        if (out_fd_ >= 0 || err_fd_ >= 0) pump(std::min(left, std::chrono::milliseconds(20)));
        else poll(nullptr, 0, 5);
    }
    return std::nullopt;
}

std::optional<int> child::stop(int sig, std::chrono::milliseconds limit)
{
    if (pid_ > 0) kill(pid_, sig);
    return wait(limit);
}

bool exited_0(const std::optional<int>& status) { return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0; }
int exit_code(const std::optional<int>& status) { return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1; }

std::string listening_url(const std::string& line)
{
    const std::string prefix = "listening on ";
    if (line.rfind(prefix, 0) != 0) return {};
    return line.substr(prefix.size());
}

unsigned short port_of(const std::string& url)
{
    auto colon = url.rfind(':');
    if (colon == std::string::npos) return 0;
    return static_cast<unsigned short>(std::stoul(url.substr(colon + 1)));
}

double percentile(std::vector<double> v, double p)
{
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

temp_dir::temp_dir()
{
    char t[] = "/tmp/smooch-webhook-test-XXXXXX";
    BOOST_REQUIRE(mkdtemp(t));
    path = t;
}

temp_dir::~temp_dir()
{
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
}

std::string temp_dir::file(const std::string& name, const std::string& content) const
{
    auto p = path + "/" + name;
    std::ofstream f(p, std::ios::binary);
    f << content;
    BOOST_REQUIRE(f.flush());
    return p;
}

}  // namespace webhook_test

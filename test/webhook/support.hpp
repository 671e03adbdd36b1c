// SPDX-License-Identifier: BSL-1.0
#pragma once
// What the webhook tests share: a scripted webhook target (a Beast server on its own thread that records every
// request and answers as told, or never), a child process with its stdout and stderr captured (the programs are
// tested as a user runs them), bounded waits on conditions, and percentiles. Loopback only, ports from the OS,
// every wait bounded.

#include "wire.hpp"  // test/mock: the in-process mock on a thread, raw Beast clients, shared_tls()

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace webhook_test {

using namespace mock_test;
using clock_type = std::chrono::steady_clock;

/// Polls `cond` every 2 ms until it holds or `limit` passes; whether it holds. (A bounded wait on a condition,
/// not a sleep standing in for one.)
bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds limit = std::chrono::seconds(20));

/// One request the target received.
struct received {
    std::string method, target, body;
    std::map<std::string, std::string> headers;  ///< Names lowercased.
    clock_type::time_point at;                   ///< When it had been read completely.
};

/// A webhook target on 127.0.0.1 (http, or https with shared_tls()).
class receiver {
public:
    /// `answer(index, request)`: the status to answer (index counts requests from 0), or a negative value to
    /// never answer (the connection is held until the receiver is destroyed). Default: 200.
    using answer_fn = std::function<int(std::size_t, const received&)>;
    explicit receiver(answer_fn answer = {}, bool tls = false, std::chrono::milliseconds delay = {});
    ~receiver();
    receiver(const receiver&) = delete;
    receiver& operator=(const receiver&) = delete;

    unsigned short port() const { return port_; }
    std::string url(const std::string& path = "/hook") const;
    std::vector<received> requests() const;
    std::size_t count() const;
    /// The most requests that were waiting for their answer at once (held ones included).
    std::size_t max_concurrent() const;

private:
    struct impl;
    std::unique_ptr<impl> p_;
    unsigned short port_ = 0;
};

/// A program started with arguments and extra environment variables, its stdout and stderr piped to the test.
/// The destructor kills it (SIGKILL) if it is still running.
class child {
public:
    child(const std::string& exe, const std::vector<std::string>& args, const std::vector<std::string>& env = {});
    ~child();
    child(const child&) = delete;
    child& operator=(const child&) = delete;

    /// The next line of stdout (without '\n'), waiting at most `limit`; nullopt on EOF or timeout.
    std::optional<std::string> line(std::chrono::milliseconds limit = std::chrono::seconds(10));
    /// Sends `sig`, then waits at most `limit` for the exit: the wait status, or nullopt if it still runs.
    std::optional<int> stop(int sig, std::chrono::milliseconds limit = std::chrono::seconds(30));
    /// Waits at most `limit` for an exit without a signal (a program that fails at once).
    std::optional<int> wait(std::chrono::milliseconds limit = std::chrono::seconds(10));
    /// Everything read from stdout and stderr so far (after stop()/wait(): all of it).
    const std::string& out() const { return out_; }
    const std::string& err() const { return err_; }

private:
    void pump(std::chrono::milliseconds limit);  // reads what is available on both pipes, up to `limit`
    pid_t pid_ = -1;
    int out_fd_ = -1, err_fd_ = -1;
    std::string out_, err_;
    std::size_t out_pos_ = 0;  // what line() has consumed
};

bool exited_0(const std::optional<int>& status);
int exit_code(const std::optional<int>& status);  ///< -1 if it did not exit normally

/// "http://127.0.0.1:PORT" from a "listening on http://127.0.0.1:PORT" line; empty if the line is not that.
std::string listening_url(const std::string& line);
unsigned short port_of(const std::string& url);

/// The p-th percentile (0..100) of `v` (nearest rank); 0 for an empty vector.
double percentile(std::vector<double> v, double p);

/// A temporary directory, removed with what it holds.
struct temp_dir {
    temp_dir();
    ~temp_dir();
    std::string file(const std::string& name, const std::string& content) const;
    std::string path;
};

}  // namespace webhook_test

// SPDX-License-Identifier: BSL-1.0
#pragma once
// Runs smooch-dispatch as a child process: spawn with output to a file, wait with a bound, SIGKILL.

#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace smooch::test {

struct child {
    pid_t pid = -1;
    std::string output;  ///< file holding its stdout and stderr
};

inline child spawn_program(const std::vector<std::string>& args, const std::string& output)
{
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    child c;
    c.output = output;
    const int rc = posix_spawn(&c.pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    BOOST_REQUIRE_MESSAGE(rc == 0, "posix_spawn " << args[0] << " failed: " << rc);
    return c;
}

/// Waits up to `limit` for the child; its wait status, or nullopt if it is still running.
inline std::optional<int> wait_for(const child& c, std::chrono::milliseconds limit)
{
    const auto end = std::chrono::steady_clock::now() + limit;
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(c.pid, &status, WNOHANG);
        if (r == c.pid) return status;
        if (std::chrono::steady_clock::now() >= end) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling a child: no event to wait on
    }
}

inline void kill_and_reap(const child& c)
{
    ::kill(c.pid, SIGKILL);
    int status = 0;
    ::waitpid(c.pid, &status, 0);
}

inline std::string read_file(const std::string& path)
{
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

/// Runs to the end (bounded by `limit`, then killed and failed); returns {exit code, output}.
inline std::pair<int, std::string> run_program(const std::vector<std::string>& args, const std::string& output,
                                               std::chrono::milliseconds limit = std::chrono::seconds(60))
{
    const child c = spawn_program(args, output);
    const auto st = wait_for(c, limit);
    if (!st) {
        kill_and_reap(c);
        BOOST_ERROR(args[0] << " " << (args.size() > 1 ? args[1] : "") << " did not end within " << limit.count()
                            << " ms");
        return {-1, read_file(output)};
    }
    return {WIFEXITED(*st) ? WEXITSTATUS(*st) : 128 + WTERMSIG(*st), read_file(output)};
}

}  // namespace smooch::test

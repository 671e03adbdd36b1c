// SPDX-License-Identifier: BSL-1.0
#pragma once
// A real redis-server for a test: on a loopback port the OS picks, no persistence, ready when it answers PING.

#include "process.hpp"
#include "support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace smooch::test {

using namespace std::chrono_literals;

/// A free loopback port: bind port 0, read it, close (redis-server binds it next).
inline unsigned free_port()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

/// PING answered (+PONG, or -NOAUTH from a server that wants a password): a blocking loopback round trip with
/// a 200 ms receive timeout.
inline bool pong(unsigned port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{0, 200000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::write(fd, "PING\r\n", 6) == 6) {
        char b[16] = {};
        ok = ::read(fd, b, sizeof b - 1) >= 5 &&
             (std::string_view(b).starts_with("+PONG") || std::string_view(b).starts_with("-NOAUTH"));
    }
    ::close(fd);
    return ok;
}

struct redis_server {
    unsigned port = free_port();
    child proc;
    const temp_dir& dir;
    std::string password;  // requirepass, if set
    explicit redis_server(const temp_dir& d, std::string requirepass = {}) : dir(d), password(std::move(requirepass))
    {
        start();
    }
    ~redis_server() { stop(); }
    void start()
    {
        std::vector<std::string> args{REDIS_SERVER_EXE, "--port", std::to_string(port), "--bind", "127.0.0.1",
                                      "--save",         "",       "--appendonly",       "no",     "--dir",
                                      dir.path.string()};
        if (!password.empty()) args.insert(args.end(), {"--requirepass", password});
        proc = spawn_program(args, dir.file("redis.out"));
        bool up = false;
        for (int i = 0; i < 500 && !up; ++i) {  // bounded: 500 x (<= 200 ms)
            up = pong(port);
            if (!up) std::this_thread::sleep_for(10ms);  // polling a starting process: no event to wait on
        }
        BOOST_REQUIRE_MESSAGE(up, "redis-server did not answer PING: " << read_file(dir.file("redis.out")));
    }
    void stop()
    {
        if (proc.pid > 0) kill_and_reap(proc);
        proc.pid = -1;
    }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port); }
};

}  // namespace smooch::test

// SPDX-License-Identifier: BSL-1.0
#pragma once
// One Redis connection on a strand: connect (resolve + TCP + setup commands) and single commands, each bounded
// by a timeout; any failure closes it and the next call reconnects. One command at a time (the caller
// serialises). The Asio templates live in connection.cpp only.

#include "redis/resp.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace smooch::detail::redis {

/// redis://host:port[/db], parsed; no user info accepted (it would be a credential to keep out of logs).
struct endpoint {
    std::string host;
    std::string port = "6379";
    unsigned db = 0;
};
error_code parse_url(std::string_view url, endpoint& out);

struct connection_params {
    endpoint where;
    std::chrono::milliseconds connect_timeout{500};
    std::chrono::milliseconds command_timeout{200};
    /// Run after every (re)connect, before the first command (SELECT, FUNCTION LOAD REPLACE).
    std::vector<std::vector<std::string>> setup;
    /// AUTH's arguments (username, password; or password alone), sent first; empty: none.
    std::vector<std::string> auth;
};

class connection {
public:
    /// `ex` must be a strand (or a single-threaded executor): every call and its timer run on it.
    connection(boost::asio::any_io_executor ex, connection_params p);
    ~connection();
    /// Sends one command and reads its reply. An error reply is a reply (kind error), not an error_code;
    /// error_code is for transport, timeout and protocol failures. Call from a coroutine on the executor.
    boost::asio::awaitable<error_code> call(std::vector<std::string> args, resp::value& reply);
    void close();
    bool is_open() const;
    /// Text of the last failure, for diagnostics (no credentials: the url has none).
    const std::string& last_error() const;

private:
    struct state;
    std::shared_ptr<state> s_;
};

}  // namespace smooch::detail::redis

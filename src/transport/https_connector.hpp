// SPDX-License-Identifier: BSL-1.0
#pragma once
// What the pool asks of a connection to one origin: open it (DNS, TCP, TLS handshake), and run one HTTP/1.1
// exchange on it. connect.cpp and exchange.cpp define the two halves.

#include <smooch/client.hpp>

#include "common/counters.hpp"
#include "transport/connection.hpp"
#include "transport/origin.hpp"
#include "transport/tls_context.hpp"
#include "transport/transport.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

namespace smooch::detail {

class https_connector {
public:
    using time_point = std::chrono::steady_clock::time_point;

    /// Throws smooch::error(invalid_configuration) for unusable TLS settings.
    https_connector(const client_params& p, const origin& o, atomic_counters& stats);

    /// Opens `c`: DNS (cached for dns_ttl), TCP to each address in turn, TLS handshake. One deadline,
    /// min(timeouts.connect, `deadline`), covers all of it. On failure sets r.ec and r.message.
    boost::asio::awaitable<void> connect(connection& c, time_point deadline, attempt_result& r);

    /// Writes `req` and reads its response into `r`, within min(timeouts.attempt, `deadline`). Returns whether
    /// the connection may be kept alive.
    boost::asio::awaitable<bool> exchange(connection& c, const outgoing_request& req, const std::string& authorization,
                                          time_point deadline, bool reused, attempt_result& r);

private:
    boost::asio::awaitable<error_code> resolve(boost::asio::ip::tcp::resolver::results_type& out, time_point limit,
                                               error_code timeout_ec);
    void forget_dns();
    boost::asio::awaitable<error_code> handshake(connection& c);

    client_params params_;
    origin base_;
    atomic_counters& stats_;
    std::optional<tls_context> tls_;  // https only
    std::string user_agent_;

    std::mutex mu_;  // the DNS cache
    std::optional<boost::asio::ip::tcp::resolver::results_type> dns_;
    time_point dns_expiry_{};
};

}  // namespace smooch::detail

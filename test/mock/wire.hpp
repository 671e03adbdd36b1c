// SPDX-License-Identifier: BSL-1.0
#pragma once
// What smooch-mock's over-the-wire tests share: a server on its own thread, a raw Beast client over TLS on
// loopback (never our client library, so the two cannot share a misunderstanding of the API) and checks of
// responses. Determinism: ports from the OS, every wait bounded (each client operation fails after io_timeout),
// no sleep used to synchronise (a wait for a condition polls it in a bounded loop; a wait for a server timeout
// is a steady_timer), and a guard timeout on every test case.

#include "credentials.hpp"

#include <smooch/mock/engine.hpp>
#include <smooch/mock/server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace mock_test {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace http = boost::beast::http;
namespace json = boost::json;
namespace mock = smooch::mock;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using boost::system::error_code;

inline constexpr auto io_timeout = 10s;  // bound on any single client operation
inline constexpr unsigned guard = 60;    // seconds, per test case

/// One CA and server certificate per test process (generation is slow-ish).
const mock::tls_material& shared_tls();

// --- The server side: runs on its own thread

struct server_fixture {
    explicit server_fixture(mock::server_params p = default_params());
    ~server_fixture();
    /// TLS with shared_tls(); keys "acct" (account) and "app1key" (app1).
    static mock::server_params default_params();
    asio::io_context io{1};
    std::unique_ptr<mock::server> srv;
    std::thread th;
};

using response = http::response<http::string_body>;

// --- The client side: raw Beast over TLS, every operation bounded by io_timeout

struct client {
    explicit client(unsigned short port, bool tls = true, std::string sni = "localhost");
    /// Not connected yet: call connect() or try_connect() (after setting rcvbuf, if wanted).
    struct deferred_t {};
    static constexpr deferred_t deferred{};
    client(deferred_t, unsigned short port, bool tls = true, const std::string& ca_pem = shared_tls().ca_pem);

    void connect(const std::string& sni = "localhost");
    /// Connects (and handshakes) without failing the test: the error, if any.
    error_code try_connect(const std::string& sni = "localhost");

    /// Runs one async operation to completion or io_timeout (then closes the socket and reports timed_out).
    template <class Start>
    error_code run(Start&& start, std::chrono::steady_clock::duration limit = io_timeout)
    {
        std::optional<error_code> result;
        start([&](error_code ec, auto&&...) { result = ec; });
        cio.restart();
        auto until = std::chrono::steady_clock::now() + limit;
        while (!result && std::chrono::steady_clock::now() < until) cio.run_one_until(until);
        if (!result) {
            error_code ignored;
            stream->next_layer().close(ignored);
            cio.restart();
            for (int i = 0; i < 100 && !result; ++i) cio.run_one_for(100ms);
            return asio::error::timed_out;
        }
        return *result;
    }

    error_code write_raw(std::string_view data);
    error_code read(response& res, std::chrono::steady_clock::duration limit = io_timeout);
    /// Waits until the server closes the connection (any read error but a timeout). Returns the error seen.
    error_code wait_closed(std::chrono::steady_clock::duration limit = io_timeout);
    error_code send(http::verb method, const std::string& target, const std::string& body, const std::string& auth,
                    bool keep_alive = true);
    response request(http::verb method, const std::string& target, const std::string& body = {},
                     const std::string& auth = basic_std("acct", "acct-secret"));

    asio::io_context cio;
    ssl::context ctx{ssl::context::tls_client};
    std::optional<ssl::stream<tcp::socket>> stream;
    boost::beast::flat_buffer buf;
    unsigned short port_;
    bool tls_;
    int rcvbuf = 0;  ///< SO_RCVBUF set before connecting (0: the system's default, autotuned)
};

/// The body as a JSON object (fails the test otherwise).
json::object body_of(const response& r);
/// An API error: status, error code and a description containing `desc_part`.
void check_error(const response& r, unsigned status, std::string_view code, std::string_view desc_part = {});
std::string text_msg(const std::string& text, const std::string& role = "appMaker");
/// Posts a text message (requires 201) and returns the response body.
json::object post(client& c, const std::string& app, const std::string& user, const std::string& text,
                  const std::string& role = "appMaker");
/// A target from an absolute next/previous URL, checking it starts with the server's base URL.
std::string target_of(const json::value& url, const std::string& base);
/// Reads raw bytes until the server closes the connection (bounded: io_timeout per read, 1000 reads).
std::string read_until_closed(client& c);
/// The wire text of an authenticated POST of `body` (for pipelining several requests in one write).
std::string raw_post(const std::string& path, const std::string& body);
/// The wire text of a GET with Basic auth (for pipelining).
std::string raw_get(const std::string& target);
/// A connected client, retrying while the server refuses new connections (max_connections reached: 503) until it
/// serves one, proven by a served probe request (GET /_probe, 404, recorded as route "unknown"): a bounded wait
/// on a condition (at most `limit`, 20 ms between attempts). nullptr if it never did.
std::unique_ptr<client> connect_when_served(unsigned short port,
                                            std::chrono::steady_clock::duration limit = io_timeout);

/// Runs `c`'s io_context until `cond()` holds or `limit` passes (bounded). True if it holds.
template <class Cond>
bool run_until(client& c, Cond cond, std::chrono::steady_clock::duration limit = io_timeout)
{
    c.cio.restart();
    auto until = std::chrono::steady_clock::now() + limit;
    while (!cond() && std::chrono::steady_clock::now() < until) c.cio.run_one_until(until);
    return cond();
}

bool is_hex24(std::string_view s);

}  // namespace mock_test

// SPDX-License-Identifier: BSL-1.0
// Lesson 8 (a program of its own): a bot, the other half of a Smooch integration. It receives webhooks on an
// async Beast server and answers through the Conversation API, on one io_context shared with the client.
//
//   example_bot_server --listen 127.0.0.1:0 --webhook-secret S     (plus SMOOCH_URL, SMOOCH_KEY_ID, ... as for
//                                                                   every example: example_env.hpp)
//
// Prints "listening on http://HOST:PORT" when ready. SIGINT/SIGTERM: stop accepting, finish the replies in
// flight, print the counters, exit 0. docs/webhooks.md walks through it.
//
//   main.cpp      flags, the io_context, signals, the order of shutdown
//   server.cpp    the HTTP listener and sessions, with their limits (server.hpp)
//   handler.cpp   key check, parse, de-duplication, the status of each answer (handler.hpp)
//   replies.cpp   typing:start, the reply, typing:stop through smooch::conversation_api (replies.hpp)

#include "../example_env.hpp"
#include "handler.hpp"
#include "replies.hpp"
#include "server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>

#include <charconv>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;

constexpr const char* usage = R"(usage: example_bot_server --listen HOST:PORT --webhook-secret S [options]

Receives Smooch webhooks and answers each new appUser message: typing:start,
"You said: ...", typing:stop. The client is configured from the environment:
SMOOCH_URL, SMOOCH_KEY_ID, SMOOCH_SECRET, SMOOCH_CA.

  --listen HOST:PORT       address to listen on; port 0 lets the OS choose
                           ([::1]:0 for IPv6)
  --webhook-secret S       the webhook's shared secret (X-API-Key); or set
                           SMOOCH_WEBHOOK_SECRET, which keeps it out of the
                           process list
  --max-connections N      connections served at once, more get 503 (default
                           256)
  --max-body BYTES         largest webhook body, larger gets 400 (default
                           524288)
  --max-replies N          replies in flight at once, more webhooks get 503 and
                           are redelivered (default 10000)
  --dedup-window S         seconds a message id is remembered against
                           redeliveries (default 900)
  --help                   print this help

When ready it prints "listening on http://HOST:PORT". SIGINT/SIGTERM: stop
accepting, finish the replies in flight, print "stopped: ..." with the counters,
exit 0. Usage errors exit 2.
)";

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <class T>
T number(const std::string& flag, const std::string& v, T min)
{
    T out{};
    auto r = std::from_chars(v.data(), v.data() + v.size(), out);
    if (v.empty() || r.ec != std::errc{} || r.ptr != v.data() + v.size() || out < min)
        throw usage_error(flag + ": expected a number >= " + std::to_string(min) + ", got '" + v + "'");
    return out;
}

asio::ip::tcp::endpoint parse_listen(const std::string& v)
{
    auto colon = v.rfind(':');
    if (colon == std::string::npos) throw usage_error("--listen: expected HOST:PORT, got '" + v + "'");
    std::string host = v.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec) throw usage_error("--listen: '" + host + "' is not an IP address");
    auto port = number<unsigned>("--listen", v.substr(colon + 1), 0);
    if (port > 65535) throw usage_error("--listen: port must be 0..65535");
    return {addr, static_cast<unsigned short>(port)};
}

struct options {
    asio::ip::tcp::endpoint listen;
    std::string secret;
    bot::server_limits limits;
    std::size_t max_replies = 10'000;
    smooch::webhook_dedup_params dedup;
};

options parse_args(int argc, char** argv)
{
    options o;
    bool have_listen = false;
    if (const char* s = std::getenv("SMOOCH_WEBHOOK_SECRET")) o.secret = s;
    std::vector<std::string> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) throw usage_error(a + " needs a value");
            return args[++i];
        };
        if (a == "--help" || a == "-h") {
            std::cout << usage;
            std::exit(0);
        } else if (a == "--listen") {
            o.listen = parse_listen(value());
            have_listen = true;
        } else if (a == "--webhook-secret") o.secret = value();
        else if (a == "--max-connections") o.limits.max_connections = number<std::size_t>(a, value(), 1);
        else if (a == "--max-body") o.limits.max_body = number<std::size_t>(a, value(), 1);
        else if (a == "--max-replies") o.max_replies = number<std::size_t>(a, value(), 1);
        else if (a == "--dedup-window") o.dedup.window = std::chrono::seconds(number<long>(a, value(), 1));
        else throw usage_error("unknown option " + a + " (see --help)");
    }
    if (!have_listen) throw usage_error("--listen HOST:PORT is required");
    if (o.secret.empty()) throw usage_error("--webhook-secret (or SMOOCH_WEBHOOK_SECRET) is required");
    return o;
}

}  // namespace

int main(int argc, char** argv)
{
    options opt;
    try {
        opt = parse_args(argc, argv);
    } catch (const usage_error& e) {
        std::cerr << "example_bot_server: " << e.what() << "\n";
        return 2;
    }
    try {
        asio::io_context io(1);  // one thread: the server, the handler and the client share it, no locks
        smooch::client client{io.get_executor(), example::params_from_env()};
        bot::replier replies{client};
        bot::webhook_handler handler{opt.secret, replies, opt.max_replies, opt.dedup};
        bot::server srv{io.get_executor(), opt.listen, opt.limits, [&](const bot::request& r) { return handler(r); }};
        srv.start();

        asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](boost::system::error_code ec, int) {
            if (ec) return;
            // A second signal does not wait for the replies. Armed first: when_idle() may cancel it at once.
            signals.async_wait([&](boost::system::error_code again, int) {
                if (!again) io.stop();
            });
            // Stop taking webhooks, let the replies already promised (we answered 200) finish, then let the
            // client close its connections: io.run() returns when nothing is left.
            srv.stop();
            handler.stop();
            replies.when_idle([&] {
                client.shutdown();
                signals.cancel();  // the wait for a second signal must not keep io.run() going
            });
        });

        auto ep = srv.local_endpoint();
        std::string host = ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
        std::cout << "listening on http://" << host << ":" << ep.port() << std::endl;  // flushed: scripts wait
        io.run();
        const auto& h = handler.counters();
        const auto& r = replies.counters();
        std::cout << "stopped: webhooks " << h.webhooks << ", duplicates " << h.duplicates << ", rejected "
                  << h.rejected << ", busy " << h.busy << ", replies " << r.sent << ", failed " << r.failed
                  << std::endl;
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "example_bot_server: " << e.what() << "\n";
        return 1;
    }
}

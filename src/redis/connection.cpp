// SPDX-License-Identifier: BSL-1.0
// The Redis connection: Asio TCP with a timer per operation that closes the socket when it fires (the pending
// read or write then ends, reported as a timeout).

#include "redis/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <charconv>

namespace smooch::detail::redis {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using smooch::redis::redis_errc;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

error_code parse_url(std::string_view url, endpoint& out)
{
    constexpr std::string_view scheme = "redis://";
    if (url.substr(0, scheme.size()) != scheme) return redis_errc::bad_url;
    auto rest = url.substr(scheme.size());
    if (rest.find('@') != std::string_view::npos) return redis_errc::bad_url;  // no credentials in urls
    std::string_view hostport = rest, db;
    if (auto slash = rest.find('/'); slash != std::string_view::npos) {
        hostport = rest.substr(0, slash);
        db = rest.substr(slash + 1);
    }
    std::string_view host = hostport, port = "6379";
    if (!hostport.empty() && hostport.front() == '[') {  // [v6]:port
        auto close = hostport.find(']');
        if (close == std::string_view::npos) return redis_errc::bad_url;
        host = hostport.substr(1, close - 1);
        auto tail = hostport.substr(close + 1);
        if (!tail.empty()) {
            if (tail.front() != ':') return redis_errc::bad_url;
            port = tail.substr(1);
        }
    } else if (auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
        host = hostport.substr(0, colon);
        port = hostport.substr(colon + 1);
    }
    unsigned p = 0;
    auto [pe, perr] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (host.empty() || port.empty() || perr != std::errc{} || pe != port.data() + port.size() || p == 0 || p > 65535)
        return redis_errc::bad_url;
    unsigned d = 0;
    if (!db.empty()) {
        auto [de, derr] = std::from_chars(db.data(), db.data() + db.size(), d);
        if (derr != std::errc{} || de != db.data() + db.size() || d > 15) return redis_errc::bad_url;
    }
    out.host.assign(host);
    out.port.assign(port);
    out.db = d;
    return {};
}

struct connection::state : std::enable_shared_from_this<connection::state> {
    state(asio::any_io_executor ex, connection_params p) : exec(ex), sock(ex), timer(ex), params(std::move(p)) {}
    asio::any_io_executor exec;
    tcp::socket sock;
    asio::steady_timer timer;
    connection_params params;
    resp::parser parser;
    bool open = false;
    bool timed_out = false;
    std::uint64_t generation = 0;  // a timer that fired after its operation ended must not close the next
    std::string last_error;
    std::string out;
    char buf[4096];

    /// Arms the timer: when it fires first, the socket closes and the pending operation ends.
    void arm(std::chrono::milliseconds t)
    {
        timed_out = false;
        timer.expires_after(t);
        timer.async_wait([w = weak_from_this(), g = ++generation](error_code ec) {
            auto self = w.lock();
            if (ec || !self || self->generation != g) return;
            self->timed_out = true;
            error_code ignored;
            self->sock.close(ignored);
        });
    }
    error_code fail(error_code ec, std::string_view what)
    {
        if (timed_out) ec = redis_errc::timeout;
        last_error.assign(what);
        last_error += ": ";
        last_error += ec.message();
        error_code ignored;
        sock.close(ignored);
        open = false;
        parser = resp::parser{};
        return ec;
    }

    asio::awaitable<error_code> roundtrip(const std::vector<std::string>& args, resp::value& reply)
    {
        out.clear();
        std::vector<std::string_view> views(args.begin(), args.end());
        resp::serialize(std::move(views), out);
        auto [wec, n] = co_await asio::async_write(sock, asio::buffer(out), tuple_awaitable);
        if (wec) co_return fail(wec, "write");
        for (;;) {
            error_code pec;
            if (auto v = parser.next(pec)) {
                reply = std::move(*v);
                co_return error_code{};
            }
            if (pec) co_return fail(pec, "reply");
            auto [rec, got] = co_await sock.async_read_some(asio::buffer(buf), tuple_awaitable);
            if (rec == asio::error::eof) co_return fail(redis_errc::connection_closed, "read");
            if (rec) co_return fail(rec, "read");
            if (auto fec = parser.feed(std::string_view(buf, got))) co_return fail(fec, "reply");
        }
    }

    asio::awaitable<error_code> connect()
    {
        arm(params.connect_timeout);
        tcp::resolver resolver(exec);
        auto [rec, results] = co_await resolver.async_resolve(params.where.host, params.where.port, tuple_awaitable);
        if (rec) {
            timer.cancel();
            co_return fail(rec, "resolve");
        }
        if (timed_out) co_return fail(redis_errc::timeout, "resolve");
        auto [cec, ep] = co_await asio::async_connect(sock, results, tuple_awaitable);
        if (cec) {
            timer.cancel();
            co_return fail(cec, "connect");
        }
        error_code ignored;
        sock.set_option(tcp::no_delay(true), ignored);
        std::vector<std::vector<std::string>> setup = params.setup;
        if (params.where.db != 0) setup.insert(setup.begin(), {"SELECT", std::to_string(params.where.db)});
        if (!params.auth.empty()) {
            std::vector<std::string> auth{"AUTH"};
            auth.insert(auth.end(), params.auth.begin(), params.auth.end());
            setup.insert(setup.begin(), std::move(auth));
        }
        for (auto& cmd : setup) {
            resp::value r;
            if (auto ec = co_await roundtrip(cmd, r)) {
                timer.cancel();
                co_return ec;
            }
            if (r.kind == resp::value::type::error) {
                timer.cancel();
                // Redis's own text (it never echoes the password); the command's name only, not its arguments.
                const bool auth = r.str.starts_with("WRONGPASS") || r.str.starts_with("NOAUTH") ||
                                  (cmd.front() == "AUTH" && r.str.starts_with("ERR"));
                co_return fail(auth ? redis_errc::auth_failed : redis_errc::server_error,
                               cmd.front() + " answered " + r.str.substr(0, 200));
            }
        }
        generation++;
        timer.cancel();
        open = true;
        co_return error_code{};
    }
};

connection::connection(asio::any_io_executor ex, connection_params p) : s_(std::make_shared<state>(ex, std::move(p))) {}

connection::~connection() { close(); }

void connection::close()
{
    error_code ignored;
    s_->timer.cancel();
    s_->sock.close(ignored);
    s_->open = false;
}

bool connection::is_open() const { return s_->open; }
const std::string& connection::last_error() const { return s_->last_error; }

asio::awaitable<error_code> connection::call(std::vector<std::string> args, resp::value& reply)
{
    auto s = s_;  // alive until this call ends, even if the connection object goes
    if (!s->open) {
        if (auto ec = co_await s->connect()) co_return ec;
    }
    s->arm(s->params.command_timeout);
    auto ec = co_await s->roundtrip(args, reply);
    s->generation++;
    s->timer.cancel();
    co_return ec;
}

}  // namespace smooch::detail::redis

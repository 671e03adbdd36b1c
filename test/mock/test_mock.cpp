// Tests of smooch-mock over real TLS on loopback. The client side is raw Beast on its own io_context, never
// our client library, so the two cannot share a misunderstanding of the API. Determinism: ports from the
// OS, every wait bounded (each client operation fails after io_timeout), no sleep used to synchronise (a wait
// for a condition polls it in a bounded loop; a wait for a server timeout is a steady_timer), and a guard
// timeout on every test case. The program tests start the smooch-mock binary and stop it with a signal.

#define BOOST_TEST_MODULE smooch_mock
#include <boost/test/unit_test.hpp>

#include <smooch/mock/engine.hpp>
#include <smooch/mock/server.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <iterator>
#include <random>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace http = boost::beast::http;
namespace json = boost::json;
namespace mock = smooch::mock;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using boost::system::error_code;

namespace {

constexpr auto io_timeout = 10s;      // bound on any single client operation
constexpr unsigned guard = 60;        // seconds, per test case

const mock::tls_material& shared_tls()
{
    static const mock::tls_material t = mock::generate_tls();
    return t;
}

// --- JWT, built with OpenSSL directly (independent of the library's crypto helpers)

std::string b64url(std::string_view in)
{
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                            static_cast<int>(in.size()));
    out.resize(static_cast<std::size_t>(n));
    for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
    while (!out.empty() && out.back() == '=') out.pop_back();
    return out;
}

std::string jwt(const std::string& header, const std::string& payload, const std::string& secret)
{
    std::string signing = b64url(header) + "." + b64url(payload);
    unsigned char mac[32];
    unsigned len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(signing.data()), signing.size(), mac, &len);
    return signing + "." + b64url(std::string_view(reinterpret_cast<char*>(mac), len));
}

std::string bearer(const std::string& kid, const std::string& payload, const std::string& secret)
{
    return "Bearer " + jwt(R"({"alg":"HS256","typ":"JWT","kid":")" + kid + "\"}", payload, secret);
}

// Basic needs standard, padded base64.
std::string basic_std(const std::string& id, const std::string& secret)
{
    std::string in = id + ":" + secret;
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                            static_cast<int>(in.size()));
    out.resize(static_cast<std::size_t>(n));
    return "Basic " + out;
}

std::string pct(std::string_view s)
{
    std::string out;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') out += static_cast<char>(c);
        else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

std::string msgs_path(std::string_view app, std::string_view user)
{
    return "/v1.1/apps/" + pct(app) + "/appusers/" + pct(user) + "/messages";
}

// --- The server side: runs on its own thread

struct server_fixture {
    explicit server_fixture(mock::server_params p = default_params())
    {
        srv = std::make_unique<mock::server>(io.get_executor(), std::move(p));
        srv->start();
        th = std::thread([this] { io.run(); });
    }
    ~server_fixture()
    {
        srv->stop();
        th.join();
    }
    static mock::server_params default_params()
    {
        mock::server_params p;
        p.tls = shared_tls();
        p.keys = {{"acct", "acct-secret", std::nullopt}, {"app1key", "app1-secret", "app1"}};
        return p;
    }
    asio::io_context io{1};
    std::unique_ptr<mock::server> srv;
    std::thread th;
};

using response = http::response<http::string_body>;

// --- The client side: raw Beast over TLS, every operation bounded by io_timeout

struct client {
    explicit client(unsigned short port, bool tls = true, std::string sni = "localhost") : client(deferred, port, tls)
    {
        connect(sni);
    }
    /// Not connected yet: call connect() or try_connect() (after setting rcvbuf, if wanted).
    struct deferred_t {};
    static constexpr deferred_t deferred{};
    client(deferred_t, unsigned short port, bool tls = true, const std::string& ca_pem = shared_tls().ca_pem)
        : port_(port), tls_(tls)
    {
        ctx.add_certificate_authority(asio::buffer(ca_pem));
        ctx.set_verify_mode(ssl::verify_peer);
    }

    void connect(const std::string& sni = "localhost")
    {
        auto ec = try_connect(sni);
        BOOST_REQUIRE_MESSAGE(!ec, "connect/handshake: " << ec.message());
    }

    /// Connects (and handshakes) without failing the test: the error, if any.
    error_code try_connect(const std::string& sni = "localhost")
    {
        stream.emplace(cio, ctx);
        buf.clear();
        if (rcvbuf > 0) {  // before connect, so the TCP window is small from the start
            stream->next_layer().open(tcp::v4());
            stream->next_layer().set_option(asio::socket_base::receive_buffer_size(rcvbuf));
        }
        error_code ec = run([&](auto h) {
            stream->next_layer().async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), h);
        });
        if (ec || !tls_) return ec;
        SSL_set_tlsext_host_name(stream->native_handle(), sni.c_str());
        stream->set_verify_callback(ssl::host_name_verification(sni));
        return run([&](auto h) { stream->async_handshake(ssl::stream_base::client, h); });
    }

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

    error_code write_raw(std::string_view data)
    {
        return run([&](auto h) {
            if (tls_) asio::async_write(*stream, asio::buffer(data.data(), data.size()), h);
            else asio::async_write(stream->next_layer(), asio::buffer(data.data(), data.size()), h);
        });
    }

    error_code read(response& res, std::chrono::steady_clock::duration limit = io_timeout)
    {
        res = {};
        return run(
            [&](auto h) {
                if (tls_) http::async_read(*stream, buf, res, h);
                else http::async_read(stream->next_layer(), buf, res, h);
            },
            limit);
    }

    /// Waits until the server closes the connection (any read error but a timeout). Returns the error seen.
    error_code wait_closed(std::chrono::steady_clock::duration limit = io_timeout)
    {
        std::array<char, 256> sink;
        for (int i = 0; i < 1000; ++i) {
            auto ec = run(
                [&](auto h) {
                    if (tls_) stream->async_read_some(asio::buffer(sink), h);
                    else stream->next_layer().async_read_some(asio::buffer(sink), h);
                },
                limit);
            if (ec) return ec;
        }
        return {};
    }

    error_code send(http::verb method, const std::string& target, const std::string& body, const std::string& auth,
                    bool keep_alive = true)
    {
        http::request<http::string_body> req{method, target, 11};
        req.set(http::field::host, "localhost");
        req.set(http::field::content_type, "application/json");
        if (!auth.empty()) req.set(http::field::authorization, auth);
        req.keep_alive(keep_alive);
        req.body() = body;
        req.prepare_payload();
        return run([&](auto h) {
            if (tls_) http::async_write(*stream, req, h);
            else http::async_write(stream->next_layer(), req, h);
        });
    }

    response request(http::verb method, const std::string& target, const std::string& body = {},
                     const std::string& auth = basic_std("acct", "acct-secret"))
    {
        auto ec = send(method, target, body, auth);
        BOOST_REQUIRE_MESSAGE(!ec, "write: " << ec.message());
        response res;
        ec = read(res);
        BOOST_REQUIRE_MESSAGE(!ec, "read: " << ec.message() << " for " << target);
        return res;
    }

    asio::io_context cio;
    ssl::context ctx{ssl::context::tls_client};
    std::optional<ssl::stream<tcp::socket>> stream;
    boost::beast::flat_buffer buf;
    unsigned short port_;
    bool tls_;
    int rcvbuf = 0;  ///< SO_RCVBUF set before connecting (0: the system's default, autotuned)
};

json::object body_of(const response& r)
{
    error_code ec;
    auto v = json::parse(r.body(), ec);
    BOOST_REQUIRE_MESSAGE(!ec && v.is_object(), "not a JSON object: " << r.body());
    return v.get_object();
}

void check_error(const response& r, unsigned status, std::string_view code, std::string_view desc_part = {})
{
    BOOST_TEST(r.result_int() == status, "status " << r.result_int() << " != " << status << ": " << r.body());
    auto o = body_of(r);
    auto* e = o.if_contains("error");
    BOOST_REQUIRE(e && e->is_object());
    BOOST_TEST(json::value_to<std::string>(e->at("code")) == code);
    auto d = json::value_to<std::string>(e->at("description"));
    BOOST_TEST(d.find(desc_part) != std::string::npos, "description '" << d << "' lacks '" << desc_part << "'");
}

std::string text_msg(const std::string& text, const std::string& role = "appMaker")
{
    json::object o{{"role", role}, {"type", "text"}, {"text", text}};
    return json::serialize(o);
}

json::object post(client& c, const std::string& app, const std::string& user, const std::string& text,
                  const std::string& role = "appMaker")
{
    auto r = c.request(http::verb::post, msgs_path(app, user), text_msg(text, role));
    BOOST_REQUIRE_MESSAGE(r.result_int() == 201, r.body());
    return body_of(r);
}

/// A target from an absolute next/previous URL, checking it starts with the server's base URL.
std::string target_of(const json::value& url, const std::string& base)
{
    auto s = json::value_to<std::string>(url);
    BOOST_REQUIRE_MESSAGE(s.rfind(base, 0) == 0, s << " does not start with " << base);
    return s.substr(base.size());
}

/// Reads raw bytes until the server closes the connection (bounded: io_timeout per read, 1000 reads).
std::string read_until_closed(client& c)
{
    std::string all;
    std::array<char, 4096> chunk;
    for (int i = 0; i < 1000; ++i) {
        std::size_t n = 0;
        auto ec = c.run([&](auto h) {
            auto done = [&n, h](error_code e, std::size_t k) mutable {
                n = k;
                h(e);
            };
            if (c.tls_) c.stream->async_read_some(asio::buffer(chunk), done);
            else c.stream->next_layer().async_read_some(asio::buffer(chunk), done);
        });
        all.append(chunk.data(), n);
        if (ec) break;
    }
    return all;
}

/// The wire text of an authenticated POST of `body` (for pipelining several requests in one write).
std::string raw_post(const std::string& path, const std::string& body)
{
    return "POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic_std("acct", "acct-secret") +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

/// The wire text of a GET with Basic auth (for pipelining).
std::string raw_get(const std::string& target)
{
    return "GET " + target + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic_std("acct", "acct-secret") + "\r\n\r\n";
}

/// A connected client, retrying while the server refuses new connections (max_connections reached) until it
/// serves one: a bounded wait on a condition (at most `limit`, 20 ms between attempts). nullptr if it never did.
std::unique_ptr<client> connect_when_served(unsigned short port, std::chrono::steady_clock::duration limit = io_timeout)
{
    auto until = std::chrono::steady_clock::now() + limit;
    asio::io_context tio;
    for (int i = 0; i < 10'000 && std::chrono::steady_clock::now() < until; ++i) {
        auto c = std::make_unique<client>(client::deferred, port);
        if (!c->try_connect()) return c;
        asio::steady_timer t(tio, 20ms);
        t.wait();
    }
    return nullptr;
}

/// Runs `c`'s io_context until `cond()` holds or `limit` passes (bounded). True if it holds.
template <class Cond>
bool run_until(client& c, Cond cond, std::chrono::steady_clock::duration limit = io_timeout)
{
    c.cio.restart();
    auto until = std::chrono::steady_clock::now() + limit;
    while (!cond() && std::chrono::steady_clock::now() < until) c.cio.run_one_until(until);
    return cond();
}

bool is_hex24(std::string_view s)
{
    return s.size() == 24 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

} // namespace

// =========================================================================================================
BOOST_AUTO_TEST_SUITE(tls_and_routes)

BOOST_AUTO_TEST_CASE(generated_certificate_verifies_for_names_and_ips, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    BOOST_TEST(f.srv->base_url() == "https://127.0.0.1:" + std::to_string(f.srv->port()));
    client a(f.srv->port(), true, "localhost");
    client b(f.srv->port(), true, "127.0.0.1");
    BOOST_TEST(a.request(http::verb::get, "/nothing").result_int() == 404u);
    BOOST_TEST(b.request(http::verb::get, "/nothing").result_int() == 404u);
}

BOOST_AUTO_TEST_CASE(six_operations_status_and_bodies, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    auto p = post(c, "app1", "user1", "Hello!");
    auto& m = p.at("message").as_object();
    BOOST_TEST(is_hex24(m.at("_id").as_string()));
    BOOST_TEST(m.at("role").as_string() == "appMaker");
    BOOST_TEST(m.at("type").as_string() == "text");
    BOOST_TEST(m.at("text").as_string() == "Hello!");
    BOOST_TEST(is_hex24(m.at("authorId").as_string()));
    BOOST_TEST(m.at("received").is_double());
    auto& conv = p.at("conversation").as_object();
    BOOST_TEST(is_hex24(conv.at("_id").as_string()));
    BOOST_TEST(conv.at("unreadCount").as_int64() == 1);

    // received is a plain decimal with exactly three fraction digits
    auto raw = c.request(http::verb::post, msgs_path("app1", "user1"), text_msg("x")).body();
    auto pos = raw.find("\"received\":");
    BOOST_REQUIRE(pos != std::string::npos);
    auto num = raw.substr(pos + 11, raw.find_first_of(",}", pos + 11) - pos - 11);
    BOOST_TEST(num.find_first_not_of("0123456789.") == std::string::npos, num);
    BOOST_TEST(num.size() - num.find('.') == 4u, num);

    auto g = c.request(http::verb::get, msgs_path("app1", "user1"));
    BOOST_TEST(g.result_int() == 200u);
    auto gb = body_of(g);
    BOOST_TEST(gb.at("messages").as_array().size() == 2u);
    BOOST_TEST(gb.at("conversation").at("_id") == conv.at("_id"));
    BOOST_TEST(!gb.contains("next"));
    BOOST_TEST(!gb.contains("previous"));

    auto act = c.request(http::verb::post, "/v1.1/apps/app1/appusers/user1/conversation/activity",
                         R"({"role":"appMaker","type":"typing:start","name":"Steve"})");
    BOOST_TEST(act.result_int() == 200u);
    BOOST_TEST(body_of(act).at("conversation").at("_id") == conv.at("_id"));

    auto rd = c.request(http::verb::post, "/v1.1/apps/app1/appusers/user1/conversation/read");
    BOOST_TEST(rd.result_int() == 200u);

    std::string id(m.at("_id").as_string());
    auto d1 = c.request(http::verb::delete_, msgs_path("app1", "user1") + "/" + id);
    BOOST_TEST(d1.result_int() == 200u);
    BOOST_TEST(body_of(c.request(http::verb::get, msgs_path("app1", "user1"))).at("messages").as_array().size() == 1u);
    auto d2 = c.request(http::verb::delete_, msgs_path("app1", "user1"));
    BOOST_TEST(d2.result_int() == 200u);
    auto after = body_of(c.request(http::verb::get, msgs_path("app1", "user1")));
    BOOST_TEST(after.at("messages").as_array().empty());
    BOOST_TEST(after.at("conversation").at("_id") == conv.at("_id"));
}

BOOST_AUTO_TEST_CASE(every_posted_field_is_stored, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    std::string body = R"({"role":"appMaker","type":"carousel","items":[{"title":"Tacos","actions":[{"text":"Select",)"
                       R"("type":"postback","payload":"TACOS"}]}],"displaySettings":{"imageAspectRatio":"square"},)"
                       R"("metadata":{"lang":"en","n":3,"ok":true},"name":"Bot","avatarUrl":"http://a/b.png","x-unknown":[1,2]})";
    auto r = c.request(http::verb::post, msgs_path("app1", "u"), body);
    BOOST_REQUIRE(r.result_int() == 201u);
    auto m = body_of(r).at("message").as_object();
    BOOST_TEST(m.at("items").as_array().size() == 1u);
    BOOST_TEST(m.at("displaySettings").at("imageAspectRatio").as_string() == "square");
    BOOST_TEST(m.at("metadata").at("n").as_int64() == 3);
    BOOST_TEST(m.at("name").as_string() == "Bot");
    BOOST_TEST(m.at("x-unknown").as_array().size() == 2u);
    auto g = body_of(c.request(http::verb::get, msgs_path("app1", "u")));
    BOOST_TEST(g.at("messages").at(0) == m);
}

BOOST_AUTO_TEST_CASE(not_found_and_method_not_allowed, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    check_error(c.request(http::verb::get, "/v1.1/apps/app1/appusers/nobody/messages"), 404, "conversation_not_found");
    check_error(c.request(http::verb::post, "/v1.1/apps/app1/appusers/nobody/conversation/read"), 404,
                "conversation_not_found");
    check_error(c.request(http::verb::delete_, "/v1.1/apps/app1/appusers/nobody/messages"), 404, "conversation_not_found");
    check_error(c.request(http::verb::post, "/v1.1/apps/app1/appusers/nobody/conversation/activity",
                          R"({"role":"appMaker","type":"typing:stop"})"),
                404, "conversation_not_found");
    post(c, "app1", "u", "a");
    check_error(c.request(http::verb::delete_, "/v1.1/apps/app1/appusers/u/messages/0123456789abcdef01234567"), 404,
                "message_not_found");
    check_error(c.request(http::verb::get, "/v1.1/apps/app1/appusers/u"), 404, "not_found");
    check_error(c.request(http::verb::get, "/v1/apps/app1/appusers/u/messages"), 404, "not_found");
    check_error(c.request(http::verb::get, "/v1.1/apps/app1/appusers/u/messages/"), 404, "not_found");
    check_error(c.request(http::verb::get, "/v1.1/apps//appusers/u/messages"), 404, "not_found");
    auto r = c.request(http::verb::put, "/v1.1/apps/app1/appusers/u/messages");
    check_error(r, 405, "method_not_allowed");
    BOOST_TEST(r[http::field::allow] == "GET, POST, DELETE");
    auto r2 = c.request(http::verb::get, "/v1.1/apps/app1/appusers/u/conversation/read");
    check_error(r2, 405, "method_not_allowed");
    BOOST_TEST(r2[http::field::allow] == "POST");
    check_error(c.request(http::verb::get, "/v1.1/apps/app1/appusers/u/messages/abc"), 405, "method_not_allowed");
}

BOOST_AUTO_TEST_CASE(state_rules, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    std::set<std::string> ids;
    double last = 0;
    std::string conv;
    for (int i = 0; i < 30; ++i) {
        auto p = post(c, "app1", "u", "m" + std::to_string(i), i % 3 == 0 ? "appUser" : "appMaker");
        auto& m = p.at("message").as_object();
        BOOST_TEST(ids.insert(std::string(m.at("_id").as_string())).second);
        double rcv = m.at("received").to_number<double>();
        BOOST_TEST(rcv > last);
        last = rcv;
        if (i == 0) conv = p.at("conversation").at("_id").as_string();
        BOOST_TEST(p.at("conversation").at("_id").as_string() == conv);
    }
    // unreadCount: +1 per appMaker message (20 of 30), appUser messages leave it, read resets it.
    auto g = body_of(c.request(http::verb::get, msgs_path("app1", "u")));
    BOOST_TEST(g.at("conversation").at("unreadCount").as_int64() == 20);
    // appUser author is the conversation's appUser id; appMaker author differs
    auto& ms = g.at("messages").as_array();
    BOOST_TEST(ms.at(0).at("authorId") != ms.at(1).at("authorId"));
    BOOST_TEST(ms.at(0).at("authorId") == ms.at(3).at("authorId"));
    c.request(http::verb::post, "/v1.1/apps/app1/appusers/u/conversation/read");
    g = body_of(c.request(http::verb::get, msgs_path("app1", "u")));
    BOOST_TEST(g.at("conversation").at("unreadCount").as_int64() == 0);
    post(c, "app1", "u", "again");
    auto a = body_of(c.request(http::verb::post, "/v1.1/apps/app1/appusers/u/conversation/activity",
                               R"({"role":"appMaker","type":"conversation:read"})"));
    BOOST_TEST(a.at("conversation").at("unreadCount").as_int64() == 1);
    c.request(http::verb::delete_, msgs_path("app1", "u"));
    g = body_of(c.request(http::verb::get, msgs_path("app1", "u")));
    BOOST_TEST(g.at("conversation").at("unreadCount").as_int64() == 0);
    // received keeps increasing after deleting the newest message
    auto p1 = post(c, "app1", "u", "x");
    c.request(http::verb::delete_, msgs_path("app1", "u") + "/" + std::string(p1.at("message").at("_id").as_string()));
    auto p2 = post(c, "app1", "u", "y");
    BOOST_TEST(p2.at("message").at("received").to_number<double>() > p1.at("message").at("received").to_number<double>());
    // conversations are per app and user
    auto other = post(c, "app2", "u", "z");
    BOOST_TEST(other.at("conversation").at("_id").as_string() != conv);
}

BOOST_AUTO_TEST_CASE(pagination_250_messages, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    std::vector<std::string> ids;
    std::vector<std::string> stamps;
    for (int i = 0; i < 250; ++i) {
        auto raw = c.request(http::verb::post, msgs_path("app1", "pager"), text_msg(std::to_string(i)));
        BOOST_REQUIRE(raw.result_int() == 201u);
        auto& b = raw.body();
        auto pos = b.find("\"received\":") + 11;
        stamps.push_back(b.substr(pos, b.find_first_of(",}", pos) - pos));
        ids.push_back(std::string(body_of(raw).at("message").at("_id").as_string()));
    }
    auto base = f.srv->base_url();
    auto page_ids = [](const json::object& o) {
        std::vector<std::string> v;
        for (auto& m : o.at("messages").as_array()) v.emplace_back(m.at("_id").as_string());
        return v;
    };
    // Default: the most recent 100, ascending; previous present, next absent.
    auto p = body_of(c.request(http::verb::get, msgs_path("app1", "pager")));
    BOOST_TEST(page_ids(p) == std::vector<std::string>(ids.begin() + 150, ids.end()));
    BOOST_TEST(!p.contains("next"));
    BOOST_REQUIRE(p.contains("previous"));
    // Walk backwards with previous: 100, 100, 50.
    std::vector<std::size_t> sizes{page_ids(p).size()};
    std::vector<std::string> all = page_ids(p);
    for (int guard_pages = 0; p.contains("previous") && guard_pages < 10; ++guard_pages) {
        BOOST_TEST(p.contains("next") == (sizes.size() > 1));
        p = body_of(c.request(http::verb::get, target_of(p.at("previous"), base)));
        auto v = page_ids(p);
        sizes.push_back(v.size());
        all.insert(all.begin(), v.begin(), v.end());
    }
    BOOST_TEST(sizes == (std::vector<std::size_t>{100, 100, 50}));
    BOOST_TEST(all == ids);
    BOOST_TEST(p.contains("next"));
    // Walk forwards from after=0 with next: 100, 100, 50.
    p = body_of(c.request(http::verb::get, msgs_path("app1", "pager") + "?after=0"));
    BOOST_TEST(!p.contains("previous"));
    sizes = {page_ids(p).size()};
    all = page_ids(p);
    for (int guard_pages = 0; p.contains("next") && guard_pages < 10; ++guard_pages) {
        p = body_of(c.request(http::verb::get, target_of(p.at("next"), base)));
        BOOST_TEST(p.contains("previous"));
        auto v = page_ids(p);
        sizes.push_back(v.size());
        all.insert(all.end(), v.begin(), v.end());
    }
    BOOST_TEST(sizes == (std::vector<std::size_t>{100, 100, 50}));
    BOOST_TEST(all == ids);
    // before/after are exclusive.
    p = body_of(c.request(http::verb::get, msgs_path("app1", "pager") + "?before=" + stamps[10]));
    BOOST_TEST(page_ids(p) == std::vector<std::string>(ids.begin(), ids.begin() + 10));
    BOOST_TEST(!p.contains("previous"));
    BOOST_TEST(p.contains("next"));
    p = body_of(c.request(http::verb::get, msgs_path("app1", "pager") + "?after=" + stamps[240]));
    BOOST_TEST(page_ids(p) == std::vector<std::string>(ids.begin() + 241, ids.end()));
    BOOST_TEST(!p.contains("next"));
    p = body_of(c.request(http::verb::get, msgs_path("app1", "pager") + "?after=" + stamps[249]));
    BOOST_TEST(page_ids(p).empty());
    BOOST_TEST(!p.contains("next"));
    BOOST_TEST(p.contains("previous"));
    // Both at once, or a bad timestamp: 400.
    check_error(c.request(http::verb::get, msgs_path("app1", "pager") + "?before=1&after=2"), 400, "bad_request",
                "mutually exclusive");
    check_error(c.request(http::verb::get, msgs_path("app1", "pager") + "?before=abc"), 400, "bad_request", "before");
    check_error(c.request(http::verb::get, msgs_path("app1", "pager") + "?after=1e9"), 400, "bad_request", "after");
}

BOOST_AUTO_TEST_CASE(validation_400_and_413, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    auto path = msgs_path("app1", "v");
    check_error(c.request(http::verb::post, path, "{not json"), 400, "bad_request", "Malformed JSON");
    check_error(c.request(http::verb::post, path, "[1,2]"), 400, "bad_request", "JSON object");
    check_error(c.request(http::verb::post, path, R"({"type":"text","text":"a"})"), 400, "bad_request", "role");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","text":"a"})"), 400, "bad_request", "type");
    check_error(c.request(http::verb::post, path, R"({"role":"bot","type":"text","text":"a"})"), 400, "bad_request",
                "role");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","type":"text","text":5})"), 400, "bad_request",
                "text");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","type":"text"})"), 400, "bad_request", "text");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","type":"image"})"), 400, "bad_request",
                "mediaUrl");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","type":"carousel"})"), 400, "bad_request",
                "items");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","type":"location"})"), 400, "bad_request",
                "coordinates");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","type":"text","text":"a","metadata":{"a":{}}})"),
                400, "bad_request", "metadata.a");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","type":"text","text":"a","actions":[{"text":"x"}]})"),
                400, "bad_request", "actions[0].type");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","type":"text","text":"a","blockChatInput":1})"),
                400, "bad_request", "blockChatInput");
    post(c, "app1", "v", "ok");
    auto act = "/v1.1/apps/app1/appusers/v/conversation/activity";
    check_error(c.request(http::verb::post, act, R"({"role":"appUser","type":"typing:start"})"), 400, "bad_request",
                "role");
    check_error(c.request(http::verb::post, act, R"({"role":"appMaker","type":"typing:maybe"})"), 400, "bad_request",
                "type");
    check_error(c.request(http::verb::post, act, R"({"role":"appMaker"})"), 400, "bad_request", "type");
    check_error(c.request(http::verb::post, act, R"({"role":"appMaker","type":"typing:start","name":1})"), 400,
                "bad_request", "name");
    // Nothing invalid was stored.
    BOOST_TEST(f.srv->record().find("app1", "v")->messages.size() == 1u);

    // 413: decided on Content-Length, before the body is read (we never send it).
    auto ec = c.write_raw("POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic_std("acct", "acct-secret") +
                          "\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n");
    BOOST_REQUIRE(!ec);
    response r;
    BOOST_REQUIRE(!c.read(r));
    check_error(r, 413, "request_entity_too_large");
    // Just under the limit is fine.
    client c2(f.srv->port());
    std::string big = text_msg(std::string(100 * 1024 - 100, 'a'));
    BOOST_TEST(c2.request(http::verb::post, path, big).result_int() == 201u);
    std::string too_big = text_msg(std::string(100 * 1024 + 10, 'a'));
    check_error(c2.request(http::verb::post, path, too_big), 413, "request_entity_too_large");
}

// Boost.JSON reads 1e999 or a 400-digit integer as infinity, which has no JSON spelling: stored, it would make
// the post response and every later get_messages page invalid JSON. Any such number, anywhere, is a 400.
BOOST_AUTO_TEST_CASE(non_finite_numbers_are_400, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    auto path = msgs_path("app1", "nf");
    post(c, "app1", "nf", "first");
    const std::string digits400(400, '9');
    struct bad_case {
        std::string body, field;
    };
    std::vector<bad_case> cases = {
        {R"({"role":"appMaker","type":"text","text":"a","metadata":{"n":1e999}})", "metadata.n"},
        {R"({"role":"appMaker","type":"text","text":"a","metadata":{"n":-1e999}})", "metadata.n"},
        {R"({"role":"appMaker","type":"text","text":"a","metadata":{"n":)" + digits400 + "}}", "metadata.n"},
        {R"({"role":"appUser","type":"location","coordinates":{"lat":1e400,"long":2}})", "coordinates.lat"},
        {R"({"role":"appMaker","type":"text","text":"a","x-unknown":[1,{"deep":-)" + digits400 + "}]}", "x-unknown[1].deep"},
        {R"({"role":"appMaker","type":"text","text":"a","override":{"whatsapp":{"payload":{"v":[0,1E+999]}}}})",
         "override.whatsapp.payload.v[1]"},
        {R"({"role":"appMaker","type":"carousel","items":[{"title":"t","actions":[{"type":"postback","text":"x",)"
         R"("payload":"p","metadata":{"k":9e9999}}]}]})",
         "items[0].actions[0].metadata.k"},
    };
    for (auto& bc : cases) {
        auto r = c.request(http::verb::post, path, bc.body);
        check_error(r, 400, "bad_request", bc.field);
        check_error(r, 400, "bad_request", "finite");
    }
    // The activity body is checked the same way.
    check_error(c.request(http::verb::post, "/v1.1/apps/app1/appusers/nf/conversation/activity",
                          R"({"role":"appMaker","type":"typing:start","x":1e999})"),
                400, "bad_request", "finite");
    // Nothing was stored and the history is still valid JSON.
    BOOST_REQUIRE(f.srv->record().find("app1", "nf"));
    BOOST_TEST(f.srv->record().find("app1", "nf")->messages.size() == 1u);
    BOOST_TEST(body_of(c.request(http::verb::get, path)).at("messages").as_array().size() == 1u);
    // Tiny numbers (underflow to zero) and large finite ones are fine.
    BOOST_TEST(c.request(http::verb::post, path,
                         R"({"role":"appMaker","type":"text","text":"a","metadata":{"tiny":1e-400,"big":1.7976931348623157e308}})")
                   .result_int() == 201u);
    BOOST_TEST(body_of(c.request(http::verb::get, path)).at("messages").as_array().size() == 2u);
}

// A posted number comes back with the exact text it was posted with (not re-formatted, not re-rounded).
BOOST_AUTO_TEST_CASE(posted_numbers_keep_their_text, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    auto path = msgs_path("app1", "num");
    const std::vector<std::string> numbers = {"0.1", "0.30000000000000004", "1.2345678901234567", "1.0", "1e2",
                                              "-0", "2.5E-3", "12345678901234567890123", "9007199254740993",
                                              "1439220041.5860000001"};
    std::string metadata, extra;
    for (std::size_t i = 0; i < numbers.size(); ++i) {
        metadata += (i ? "," : "") + std::string("\"n") + std::to_string(i) + "\":" + numbers[i];
        extra += (i ? "," : "") + numbers[i];
    }
    std::string body = R"({"role":"appMaker","type":"text","text":"n","metadata":{)" + metadata + R"(},"x-list":[)" +
                       extra + "]}";
    auto r = c.request(http::verb::post, path, body);
    BOOST_REQUIRE_MESSAGE(r.result_int() == 201u, r.body());
    auto g = c.request(http::verb::get, path);
    for (auto* raw : {&r.body(), &g.body()}) {
        BOOST_TEST(raw->find("\"metadata\":{" + metadata + "}") != std::string::npos, *raw);
        BOOST_TEST(raw->find("\"x-list\":[" + extra + "]") != std::string::npos, *raw);
    }
    // And the documents are valid JSON holding the same values.
    auto m = body_of(r).at("message").as_object();
    BOOST_TEST(m.at("metadata").at("n0").as_double() == 0.1);
    BOOST_TEST(m.at("metadata").at("n1").as_double() == 0.1 + 0.2);
    BOOST_TEST(body_of(g).at("messages").at(0) == m);

    // Members are copied as written: whitespace inside values and string escapes stay; a repeated key is
    // stored once, with its last value (the one validated); an escaped generated key is still dropped.
    auto r2 = c.request(http::verb::post, path,
                        "{ \"role\" : \"appMaker\" , \"type\":\"text\", \"text\":\"first\", \"x-list\" : [ 1 , 2.50 ] ,"
                        " \"caf\\u00e9\":\"\\u00e9\\n\", \"\\u0072eceived\":5, \"text\" : \"second\" }");
    BOOST_REQUIRE_MESSAGE(r2.result_int() == 201u, r2.body());
    auto& b2 = r2.body();
    BOOST_TEST(b2.find("\"x-list\":[ 1 , 2.50 ]") != std::string::npos, b2);
    BOOST_TEST(b2.find("\"caf\\u00e9\":\"\\u00e9\\n\"") != std::string::npos, b2);
    BOOST_TEST(b2.find("\"text\":\"second\"") != std::string::npos, b2);
    BOOST_TEST(b2.find("first") == std::string::npos, b2);
    BOOST_TEST(b2.find("\\u0072eceived") == std::string::npos, b2);
    auto m2 = body_of(r2).at("message").as_object();
    BOOST_TEST(m2.at("received").as_double() > 1e9);
    BOOST_TEST(m2.at("caf\xc3\xa9").as_string() == "\xc3\xa9\n");
    BOOST_TEST(f.srv->record().find("app1", "num")->texts().back() == "second");
    // Many members (a set finds the repeats): still the last of each.
    std::string many = R"({"role":"appMaker","type":"text","text":"t")";
    for (int i = 0; i < 20; ++i) many += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
    many += R"(,"k3":"again","k19":-1})";
    auto r3 = c.request(http::verb::post, path, many);
    BOOST_REQUIRE_MESSAGE(r3.result_int() == 201u, r3.body());
    BOOST_TEST(r3.body().find("\"k3\":3") == std::string::npos, r3.body());
    BOOST_TEST(r3.body().find("\"k3\":\"again\"") != std::string::npos, r3.body());
    BOOST_TEST(r3.body().find("\"k19\":-1}") != std::string::npos, r3.body());
    BOOST_TEST(body_of(r3).at("message").as_object().size() == 6u + 20u);  // _id authorId role type received text
}

bool all_finite(const json::value& v)
{
    if (v.is_double()) return std::isfinite(v.get_double());
    if (auto* o = v.if_object())
        return std::all_of(o->begin(), o->end(), [](const json::key_value_pair& kv) { return all_finite(kv.value()); });
    if (auto* a = v.if_array()) return std::all_of(a->begin(), a->end(), [](const json::value& x) { return all_finite(x); });
    return true;
}

// Whatever is posted (seeded mutations of valid bodies: broken JSON, odd numbers, escapes, repeated keys),
// every response and every page is valid JSON with finite numbers, and a stored message holds exactly the
// posted members. Driven through the engine (no sockets), so it is quick and deterministic.
BOOST_AUTO_TEST_CASE(stored_messages_stay_valid_json, *boost::unit_test::timeout(guard))
{
    mock::server_params p;  // no keys: auth off
    mock::engine e(p);
    const std::vector<std::string> seeds = {
        R"({"role":"appMaker","type":"text","text":"hi","metadata":{"a":1.5,"b":-2e-3,"c":true,"d":"x"}})",
        R"({ "role" : "appUser" , "type":"text", "text":"caf\u00e9 \"q\" \\", "x":[1,[2,{"y":3.25}]] })",
        R"({"role":"appMaker","type":"carousel","items":[{"title":"T","actions":[{"type":"postback","text":"a","payload":"p"}]}]})",
        R"({"role":"appMaker","type":"location","coordinates":{"lat":45.5,"long":-73.25},"location":{"name":"n"}})",
        R"({"role":"appMaker","type":"text","text":"a","text":"b","k":1,"k":[2]})",
        R"({"role":"appMaker","type":"text","text":"n","n":123456789012345678901234567890,"m":0.1,"o":1E2})",
    };
    const std::string alphabet = "{}[]\":,0123456789.eE+- \\utrnfla";
    std::mt19937 rng(20240601);
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    int stored = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string body = seeds[pick(seeds.size())];
        for (std::size_t k = pick(4); k > 0; --k) {
            std::size_t pos = pick(body.size() + 1);
            char ch = alphabet[pick(alphabet.size())];
            switch (pick(3)) {
            case 0: body.insert(pos, 1, ch); break;
            case 1: if (pos < body.size()) body.erase(pos, 1); break;
            default: if (pos < body.size()) body[pos] = ch;
            }
        }
        mock::http_request r;
        r.method = "POST";
        r.target = "/v1.1/apps/a/appusers/u/messages";
        r.body = body;
        mock::http_response out;
        e.handle(r, out);
        error_code ec;
        auto v = json::parse(out.body, ec);
        BOOST_TEST_CONTEXT("body " << body << " -> " << out.status << " " << out.body)
        {
            BOOST_REQUIRE(!ec);
            BOOST_TEST(all_finite(v));
            if (out.status != 201u) continue;
            ++stored;
            auto posted = json::parse(body).as_object();  // Boost: a repeated key keeps the last value
            auto& m = v.at("message").as_object();
            std::size_t own = 0;
            for (auto& [k, val] : posted) {
                if (k == "role" || k == "type" || k == "_id" || k == "authorId" || k == "received") continue;
                ++own;
                BOOST_TEST((m.contains(k) && m.at(k) == val), "member " << std::string_view(k));
            }
            BOOST_TEST(m.size() == own + 5u);  // + _id authorId role type received
        }
    }
    BOOST_TEST(stored > 300);
    mock::http_request g;
    g.method = "GET";
    g.target = "/v1.1/apps/a/appusers/u/messages";
    mock::http_response page;
    e.handle(g, page);
    BOOST_TEST(page.status == 200u);
    error_code ec;
    auto pv = json::parse(page.body, ec);
    BOOST_REQUIRE(!ec);
    BOOST_TEST(all_finite(pv));
    BOOST_TEST(pv.at("messages").as_array().size() == std::min<std::size_t>(100, static_cast<std::size_t>(stored)));
}

// reference.md §2: nested models are checked too, with a description naming the field.
BOOST_AUTO_TEST_CASE(nested_validation_names_the_field, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    auto path = msgs_path("app1", "nv");
    auto msg = [](const std::string& type, const std::string& rest) {
        return R"({"role":"appMaker","type":")" + type + "\"" + (rest.empty() ? "" : "," + rest) + "}";
    };
    const std::string pb = R"({"type":"postback","text":"Go","payload":"P"})";
    auto item = [&](const std::string& actions) { return R"({"title":"T","actions":[)" + actions + "]}"; };
    auto options = [](int n) {
        std::string o;
        for (int i = 0; i < n; ++i) o += (i ? "," : "") + std::string(R"({"name":"o)") + std::to_string(i) + R"(","label":"O"})";
        return o;
    };
    struct bad_case {
        std::string body, field;
    };
    std::vector<bad_case> cases = {
        // item actions: 1 to 3, each with type and text
        {msg("carousel", R"("items":[{"title":"T"}])"), "items[0].actions"},
        {msg("carousel", R"("items":[{"title":"T","actions":[]}])"), "items[0].actions"},
        {msg("list", R"("items":[)" + item(pb + "," + pb + "," + pb + "," + pb) + "]"), "items[0].actions"},
        {msg("carousel", R"("items":[{"title":"T","actions":{}}])"), "items[0].actions"},
        {msg("carousel", R"("items":[)" + item(pb) + "," + item(R"({"text":"x"})") + "]"), "items[1].actions[0].type"},
        {msg("carousel", R"("items":[)" + item(R"({"type":"link","uri":"https://a"})") + "]"),
         "items[0].actions[0].text"},
        {msg("carousel", R"("items":[)" + item("7") + "]"), "items[0].actions[0]"},
        {msg("carousel", R"("items":[{"title":"T","description":5,"actions":[)" + pb + "]}]"), "items[0].description"},
        // action fields: types, and what each type needs
        {msg("text", R"("text":"a","actions":[{"type":"postback","text":"x","payload":5}])"), "actions[0].payload"},
        {msg("text", R"("text":"a","actions":[{"type":"link","text":"x","uri":{}}])"), "actions[0].uri"},
        {msg("text", R"("text":"a","actions":[{"type":"postback","text":"x"}])"), "actions[0].payload"},
        {msg("text", R"("text":"a","actions":[{"type":"reply","text":"x"}])"), "actions[0].payload"},
        {msg("text", R"("text":"a","actions":[{"type":"link","text":"x"}])"), "actions[0].uri"},
        {msg("text", R"("text":"a","actions":[{"type":"webview","text":"x","uri":"https://a"}])"), "actions[0].fallback"},
        {msg("text", R"("text":"a","actions":[{"type":"buy","text":"x"}])"), "actions[0].amount"},
        {msg("text", R"("text":"a","actions":[{"type":"buy","text":"x","amount":1.5}])"), "actions[0].amount"},
        {msg("text", R"("text":"a","actions":[{"type":"link","text":"x","uri":"u","default":"yes"}])"),
         "actions[0].default"},
        {msg("text", R"("text":"a","actions":[{"type":"link","text":"x","uri":"u","metadata":{"a":[1]}}])"),
         "actions[0].metadata.a"},
        {msg("text", R"("text":"a","actions":[{"type":"link","text":"x","uri":"u","extraChannelOptions":"m"}])"),
         "actions[0].extraChannelOptions"},
        {msg("text", R"("text":"a","actions":[)" + pb + R"(,{"type":"share","openOnReceive":1}])"),
         "actions[1].openOnReceive"},
        // destination, displaySettings, coordinates, location
        {msg("text", R"("text":"a","destination":{"integrationId":5})"), "destination.integrationId"},
        {msg("text", R"("text":"a","destination":{"integrationType":true})"), "destination.integrationType"},
        {msg("text", R"("text":"a","destination":{})"), "destination"},
        {msg("text", R"("text":"a","displaySettings":{"imageAspectRatio":1})"), "displaySettings.imageAspectRatio"},
        {msg("location", R"("coordinates":{"lat":"45","long":2})"), "coordinates.lat"},
        {msg("location", R"("coordinates":{"lat":45})"), "coordinates.long"},
        {msg("text", R"("text":"a","coordinates":{"lat":45,"long":null})"), "coordinates.long"},
        {msg("location", R"("coordinates":{"lat":45,"long":2},"location":{"address":["x"]})"), "location.address"},
        // form fields: type, name and label required; options well-formed
        {msg("form", R"("fields":[{"name":"n","label":"L"}])"), "fields[0].type"},
        {msg("form", R"("fields":[{"type":"text","label":"L"}])"), "fields[0].name"},
        {msg("form", R"("fields":[{"type":"text","name":"n","label":"L"},{"type":"email","name":"e"}])"),
         "fields[1].label"},
        {msg("form", R"("fields":[{"type":5,"name":"n","label":"L"}])"), "fields[0].type"},
        {msg("form", R"("fields":["text"])"), "fields[0]"},
        {msg("form", R"("fields":[{"type":"text","name":"n","label":"L","maxSize":"big"}])"), "fields[0].maxSize"},
        {msg("form", R"("fields":[{"type":"select","name":"n","label":"L","options":[{"name":"a"}]}])"),
         "fields[0].options[0].label"},
        {msg("form", R"("fields":[{"type":"text","name":"n","label":"L"},{"type":"text","name":"n","label":"M"}])"),
         "fields[1].name"},
        {msg("form", R"("fields":[{"type":"select","name":"n","label":"L","options":[{"name":"a","label":"A"},)"
                     R"({"name":"a","label":"B"}]}])"),
         "fields[0].options[1].name"},
        {msg("form", R"("fields":[{"type":"select","name":"n","label":"L","options":[)" + options(21) + "]}]"),
         "fields[0].options"},
        // actions and destination are appMaker-only
        {R"({"role":"appUser","type":"text","text":"a","actions":[)" + pb + "]}", "actions"},
        {R"({"role":"appUser","type":"text","text":"a","destination":{"integrationType":"web"}})", "destination"},
    };
    for (auto& bc : cases) {
        BOOST_TEST_CONTEXT(bc.body) { check_error(c.request(http::verb::post, path, bc.body), 400, "bad_request", bc.field); }
    }
    BOOST_TEST(!f.srv->record().find("app1", "nv"));  // nothing was stored

    // Well-formed nested models are accepted, including values the reference is unsure about.
    std::vector<std::string> good = {
        msg("carousel", R"("items":[)" + item(pb) + "," +
                            item(pb + R"(,{"type":"share"},{"type":"link","text":"L","uri":"https://a","default":true})") +
                            R"(],"displaySettings":{"imageAspectRatio":"panorama"})"),
        msg("text", R"("actions":[{"type":"reply","text":"Yes","payload":"Y","iconUrl":"https://i"},)"
                    R"({"type":"locationRequest","text":"Where?"}])"),
        msg("text", R"("text":"a","actions":[{"type":"webview","text":"W","uri":"https://a","fallback":"https://b",)"
                    R"("size":"tall","openOnReceive":true,"extraChannelOptions":{"messenger":{"r":1}}},)"
                    R"({"type":"buy","text":"Buy","amount":800,"currency":"usd"},{"type":"someday","text":"?"}])"),
        msg("text", R"("text":"a","destination":{"integrationType":"messenger"})"),
        msg("location", R"("coordinates":{"lat":45.5,"long":-73},"location":{"address":"1 Main","name":"Home"})"),
        msg("form", R"("fields":[{"type":"text","name":"n","label":"Name","placeholder":"?","minSize":1,"maxSize":1e2},)"
                    R"({"type":"select","name":"s","label":"Pick","options":[{"name":"a","label":"A"},{"name":"b","label":"B"}]}],)"
                    R"("blockChatInput":true)"),
        msg("form", R"("fields":[{"type":"select","name":"s","label":"Pick","options":[)" + options(20) + "]}]"),
        R"({"role":"appUser","type":"text","text":"from the user","actions":[]})",
    };
    for (auto& body : good) {
        auto r = c.request(http::verb::post, path, body);
        BOOST_TEST(r.result_int() == 201u, body << " -> " << r.body());
    }
}

// HEAD: the same status line and headers as the request would get, never a body.
BOOST_AUTO_TEST_CASE(head_responses_have_no_body, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    for (auto target : {std::string("/v1.1/apps/app1/appusers/u/messages"), std::string("/nowhere")}) {
        client c(f.srv->port());
        BOOST_REQUIRE(!c.write_raw("HEAD " + target + " HTTP/1.1\r\nHost: x\r\nAuthorization: " +
                                   basic_std("acct", "acct-secret") + "\r\nConnection: close\r\n\r\n"));
        auto raw = read_until_closed(c);
        auto end = raw.find("\r\n\r\n");
        BOOST_REQUIRE_MESSAGE(end != std::string::npos, raw);
        BOOST_TEST(raw.size() == end + 4, "bytes after the HEAD response's headers: " << raw.substr(end + 4));
        BOOST_TEST(raw.rfind(target.size() > 10 ? "HTTP/1.1 405 " : "HTTP/1.1 404 ", 0) == 0u, raw);
        BOOST_TEST(raw.find("Content-Length: ") != std::string::npos, raw);
    }
    // Keep-alive: the next response on the connection starts right after the HEAD response's headers.
    client c(f.srv->port());
    BOOST_REQUIRE(!c.send(http::verb::head, "/nowhere", {}, basic_std("acct", "acct-secret")));
    http::response_parser<http::empty_body> hp;
    hp.skip(true);
    BOOST_REQUIRE(!c.run([&](auto h) { http::async_read(*c.stream, c.buf, hp, h); }));
    BOOST_TEST(hp.get().result_int() == 404u);
    check_error(c.request(http::verb::get, "/nowhere"), 404, "not_found");
}

BOOST_AUTO_TEST_SUITE_END()

// =========================================================================================================
BOOST_AUTO_TEST_SUITE(auth)

BOOST_AUTO_TEST_CASE(basic_auth, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    auto path = msgs_path("app1", "u");
    check_error(c.request(http::verb::get, path, {}, ""), 401, "unauthorized");
    check_error(c.request(http::verb::get, path, {}, basic_std("acct", "wrong")), 401, "invalid_auth");
    check_error(c.request(http::verb::get, path, {}, basic_std("nobody", "acct-secret")), 401, "invalid_auth");
    check_error(c.request(http::verb::get, path, {}, "Basic !!!"), 401, "invalid_auth");
    check_error(c.request(http::verb::get, path, {}, "Digest abc"), 401, "invalid_auth");
    BOOST_TEST(c.request(http::verb::post, path, text_msg("a"), basic_std("app1key", "app1-secret")).result_int() == 201u);
    // An app key only works for its app.
    check_error(c.request(http::verb::post, msgs_path("app2", "u"), text_msg("a"), basic_std("app1key", "app1-secret")),
                403, "forbidden");
    BOOST_TEST(c.request(http::verb::post, msgs_path("app2", "u"), text_msg("a")).result_int() == 201u);
    BOOST_TEST(f.srv->record().unauthorized == 6u);
}

BOOST_AUTO_TEST_CASE(jwt_auth, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    auto path = msgs_path("app1", "u");
    auto app_tok = bearer("app1key", R"({"scope":"app"})", "app1-secret");
    BOOST_TEST(c.request(http::verb::post, path, text_msg("a"), app_tok).result_int() == 201u);
    BOOST_TEST(c.request(http::verb::get, path, {}, bearer("acct", R"({"scope":"account"})", "acct-secret")).result_int() ==
               200u);
    auto future = std::to_string(std::time(nullptr) + 3600), past = std::to_string(std::time(nullptr) - 10);
    BOOST_TEST(c.request(http::verb::get, path, {}, bearer("app1key", R"({"scope":"app","exp":)" + future + "}", "app1-secret"))
                   .result_int() == 200u);
    check_error(c.request(http::verb::get, path, {}, bearer("app1key", R"({"scope":"app","exp":)" + past + "}", "app1-secret")),
                401, "invalid_auth", "expired");
    check_error(c.request(http::verb::get, path, {}, bearer("app1key", R"({"scope":"app"})", "wrong")), 401,
                "invalid_auth", "signature");
    check_error(c.request(http::verb::get, path, {}, "Bearer " + jwt(R"({"alg":"HS256","typ":"JWT"})", R"({"scope":"app"})", "app1-secret")),
                401, "invalid_auth", "Missing key id (kid)");
    check_error(c.request(http::verb::get, path, {}, "Bearer " + b64url(R"({"alg":"none","kid":"app1key"})") + "." + b64url(R"({"scope":"app"})") + "."),
                401, "invalid_auth", "alg");
    check_error(c.request(http::verb::get, path, {}, "Bearer " + jwt(R"({"alg":"HS512","kid":"app1key"})", R"({"scope":"app"})", "app1-secret")),
                401, "invalid_auth", "alg");
    check_error(c.request(http::verb::get, path, {}, bearer("unknown", R"({"scope":"app"})", "x")), 401, "invalid_auth",
                "kid");
    check_error(c.request(http::verb::get, path, {}, bearer("app1key", R"({"scope":"account"})", "app1-secret")), 401,
                "invalid_auth", "account scope");
    check_error(c.request(http::verb::get, path, {}, bearer("app1key", R"({"scope":"admin"})", "app1-secret")), 401,
                "invalid_auth", "scope");
    check_error(c.request(http::verb::get, path, {}, "Bearer not.a.jwt"), 401, "invalid_auth");
    check_error(c.request(http::verb::get, path, {}, "Bearer garbage"), 401, "invalid_auth");
    check_error(c.request(http::verb::get, msgs_path("app2", "u"), {}, app_tok), 403, "forbidden");
}

BOOST_AUTO_TEST_CASE(app_user_scope, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    post(c, "app1", "alice", "hello");
    post(c, "app1", "bob", "hello");
    auto tok = bearer("app1key", R"({"scope":"appUser","userId":"alice"})", "app1-secret");
    auto base = std::string("/v1.1/apps/app1/appusers/alice");
    BOOST_TEST(c.request(http::verb::get, base + "/messages", {}, tok).result_int() == 200u);
    BOOST_TEST(c.request(http::verb::post, base + "/messages", text_msg("hi", "appUser"), tok).result_int() == 201u);
    BOOST_TEST(c.request(http::verb::post, base + "/conversation/read", {}, tok).result_int() == 200u);
    check_error(c.request(http::verb::post, base + "/messages", text_msg("hi", "appMaker"), tok), 403, "forbidden");
    check_error(c.request(http::verb::delete_, base + "/messages", {}, tok), 403, "forbidden");
    check_error(c.request(http::verb::delete_, base + "/messages/0123456789abcdef01234567", {}, tok), 403, "forbidden");
    check_error(c.request(http::verb::post, base + "/conversation/activity", R"({"role":"appMaker","type":"typing:start"})", tok),
                403, "forbidden");
    check_error(c.request(http::verb::get, "/v1.1/apps/app1/appusers/bob/messages", {}, tok), 403, "forbidden");
    check_error(c.request(http::verb::get, base + "/messages", {}, bearer("app1key", R"({"scope":"appUser","userId":7})", "app1-secret")),
                401, "invalid_auth", "userId");
    BOOST_TEST(f.srv->record().find("app1", "alice")->messages.size() == 2u);
}

// Order of checks: auth (401/403) before the rate limit and validation. An appUser token posting as appMaker is
// a 403 that takes no token, whatever else is wrong with the body.
BOOST_AUTO_TEST_CASE(app_user_role_403_before_rate_limit, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.rate = mock::rate_limit{0.01, 1};  // one token; refill negligible during the test
    server_fixture f(p);
    client c(f.srv->port());
    auto tok = bearer("app1key", R"({"scope":"appUser","userId":"alice"})", "app1-secret");
    auto path = msgs_path("app1", "alice");
    check_error(c.request(http::verb::post, path, text_msg("hi", "appMaker"), tok), 403, "forbidden");
    check_error(c.request(http::verb::post, path, R"({"role":"appMaker","type":"nonsense"})", tok), 403, "forbidden");
    check_error(c.request(http::verb::post, path, R"({"role":"whisper","type":"text","text":"a"})", tok), 403,
                "forbidden");
    BOOST_TEST(c.request(http::verb::post, path, text_msg("hi", "appUser"), tok).result_int() == 201u);  // the token
    check_error(c.request(http::verb::post, path, text_msg("hi", "appUser"), tok), 429, "too_many_requests");
    check_error(c.request(http::verb::post, path, text_msg("hi", "appMaker"), tok), 403, "forbidden");  // still 403
    auto rec = f.srv->record();
    BOOST_TEST(rec.unauthorized == 4u);
    BOOST_TEST(rec.rate_limited == 1u);
    BOOST_REQUIRE(rec.find("app1", "alice"));
    BOOST_TEST(rec.find("app1", "alice")->messages.size() == 1u);
}

BOOST_AUTO_TEST_CASE(no_keys_means_open, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.keys.clear();
    server_fixture f(p);
    client c(f.srv->port());
    BOOST_TEST(c.request(http::verb::post, msgs_path("a", "u"), text_msg("x"), "").result_int() == 201u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("a", "u"), {}, "Basic Og==").result_int() == 200u);
}

BOOST_AUTO_TEST_SUITE_END()

// =========================================================================================================
BOOST_AUTO_TEST_SUITE(rate_limit_and_record)

BOOST_AUTO_TEST_CASE(rate_limit_429_with_retry_after, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.rate = mock::rate_limit{0.01, 3};  // refill negligible during the test: deterministic
    server_fixture f(p);
    client c(f.srv->port());
    for (int i = 0; i < 3; ++i) BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a")).result_int() == 201u);
    auto r = c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a"));
    check_error(r, 429, "too_many_requests");
    int retry = std::stoi(std::string(r[http::field::retry_after]));
    BOOST_TEST(retry >= 1);
    BOOST_TEST(retry <= 100);
    check_error(c.request(http::verb::get, msgs_path("app1", "u")), 429, "too_many_requests");  // any route
    BOOST_TEST(c.request(http::verb::post, msgs_path("app2", "u"), text_msg("a")).result_int() == 201u);  // per app
    auto rec = f.srv->record();
    BOOST_TEST(rec.rate_limited == 2u);
    BOOST_TEST(rec.find("app1", "u")->messages.size() == 3u);
    f.srv->set_rate_limit(std::nullopt);
    BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a")).result_int() == 201u);
    f.srv->set_rate_limit(mock::rate_limit{0.01, 1});
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 429u);
}

// The bucket refills over time: 429 after the burst, success again once Retry-After has passed. Requests are
// pipelined in one write so the three of a round reach the server within far less than a refill interval.
BOOST_AUTO_TEST_CASE(rate_limit_refills_after_retry_after, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.rate = mock::rate_limit{5, 2};  // a token every 200 ms, burst 2
    server_fixture f(p);
    client c(f.srv->port());
    auto path = msgs_path("app1", "refill");
    std::string round = raw_post(path, text_msg("a")) + raw_post(path, text_msg("b")) + raw_post(path, text_msg("c"));
    auto statuses = [&](int& retry_after) {
        BOOST_REQUIRE(!c.write_raw(round));
        std::vector<unsigned> st;
        for (int i = 0; i < 3; ++i) {
            response r;
            BOOST_REQUIRE(!c.read(r));
            st.push_back(r.result_int());
            if (r.result_int() == 429u) retry_after = std::stoi(std::string(r[http::field::retry_after]));
        }
        return st;
    };
    int retry_after = 0;
    BOOST_TEST(statuses(retry_after) == (std::vector<unsigned>{201, 201, 429}), boost::test_tools::per_element());
    BOOST_TEST(retry_after == 1);  // < 1 token missing at 5/s: 0.2 s, rounded up to whole seconds
    // Wait what the server asked for (a time-based behaviour, not a synchronisation), bounded by the guard.
    asio::steady_timer t(c.cio);
    t.expires_after(std::chrono::seconds(retry_after));
    BOOST_REQUIRE(!c.run([&](auto h) { t.async_wait(h); }));
    // Refilled, and capped at the burst: two more, then 429 again.
    retry_after = 0;
    BOOST_TEST(statuses(retry_after) == (std::vector<unsigned>{201, 201, 429}), boost::test_tools::per_element());
    BOOST_TEST(retry_after == 1);
    auto rec = f.srv->record();
    BOOST_TEST(rec.rate_limited == 2u);
    BOOST_REQUIRE(rec.find("app1", "refill"));
    BOOST_TEST(rec.find("app1", "refill")->texts() == (std::vector<std::string>{"a", "b", "a", "b"}));
}

// The token bucket's arithmetic, driven through the engine with chosen arrival times (no clock involved).
BOOST_AUTO_TEST_CASE(rate_limit_refill_arithmetic, *boost::unit_test::timeout(guard))
{
    mock::server_params p;  // no keys: auth off
    p.rate = mock::rate_limit{5, 2};
    mock::engine e(p);
    const auto t0 = std::chrono::steady_clock::now();
    auto at = [&](std::chrono::milliseconds offset) {
        mock::http_request r;
        r.method = "GET";
        r.target = "/v1.1/apps/a/appusers/u/messages";
        r.arrival = t0 + offset;
        mock::http_response out;
        e.handle(r, out);
        return out.status == 429u ? "429 " + out.retry_after : std::to_string(out.status);
    };
    // 404 (no conversation) means the request got past the limiter and took a token.
    BOOST_TEST(at(0ms) == "404");
    BOOST_TEST(at(0ms) == "404");
    BOOST_TEST(at(0ms) == "429 1");
    BOOST_TEST(at(100ms) == "429 1");    // 0.5 token
    BOOST_TEST(at(250ms) == "404");      // 1.25 tokens
    BOOST_TEST(at(250ms) == "429 1");    // 0.25 token
    BOOST_TEST(at(10'000ms) == "404");   // refilled, capped at the burst of 2
    BOOST_TEST(at(10'000ms) == "404");
    BOOST_TEST(at(10'000ms) == "429 1");
    e.set_rate_limit(mock::rate_limit{0.25, 1});  // new limit: buckets start full again
    BOOST_TEST(at(10'000ms) == "404");
    BOOST_TEST(at(10'000ms) == "429 4");  // a whole token at 0.25/s: 4 s
    BOOST_TEST(at(13'000ms) == "429 1");  // 0.75 token: 1 s more
    BOOST_TEST(at(14'000ms) == "404");
}

BOOST_AUTO_TEST_CASE(record_contents, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i)
        ids.emplace_back(post(c, "app1", "u1", "t" + std::to_string(i)).at("message").at("_id").as_string());
    post(c, "app2", "u1", "other");
    c.request(http::verb::get, msgs_path("app1", "u1"));
    c.request(http::verb::delete_, msgs_path("app1", "u1") + "/" + ids[1]);
    auto t1 = std::chrono::steady_clock::now();
    c.request(http::verb::get, "/nope");
    c.request(http::verb::get, msgs_path("app1", "u1"), {}, "");
    auto rec = f.srv->record();
    auto* conv = rec.find("app1", "u1");
    BOOST_REQUIRE(conv);
    BOOST_TEST(conv->message_ids() == (std::vector<std::string>{ids[0], ids[2], ids[3], ids[4]}));
    BOOST_TEST(conv->texts() == (std::vector<std::string>{"t0", "t2", "t3", "t4"}));
    BOOST_TEST(conv->created_ids == ids);
    BOOST_TEST(conv->unread_count == 5);
    BOOST_TEST(rec.conversations.size() == 2u);
    BOOST_TEST(rec.operation_count("post_message") == 6u);
    BOOST_TEST(rec.operation_count("get_messages") == 1u);  // the 401 one did not run
    BOOST_TEST(rec.operation_count("delete_message") == 1u);
    BOOST_TEST(rec.routed.at("get_messages") == 2u);
    BOOST_TEST(rec.routed.at("unknown") == 1u);
    BOOST_TEST(rec.requests_total == 10u);
    BOOST_REQUIRE(rec.requests.size() == 10u);
    BOOST_TEST(rec.requests[0].route == "post_message");
    BOOST_TEST(rec.requests[0].method == "POST");
    BOOST_TEST(rec.requests[0].status == 201u);
    BOOST_TEST(rec.requests[0].applied);
    BOOST_TEST(rec.requests[9].status == 401u);
    BOOST_TEST(!rec.requests[9].applied);
    for (std::size_t i = 1; i < rec.requests.size(); ++i) BOOST_TEST((rec.requests[i - 1].arrival <= rec.requests[i].arrival));
    BOOST_TEST(rec.requests_before("app1", t0) == 0u);
    BOOST_TEST(rec.requests_before("app1", t1) == 7u);
    BOOST_TEST(rec.requests_before("app2", t1) == 1u);
    f.srv->reset();
    rec = f.srv->record();
    BOOST_TEST(rec.conversations.empty());
    BOOST_TEST(rec.requests_total == 0u);
}

BOOST_AUTO_TEST_CASE(record_request_limit, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.max_recorded_requests = 3;
    server_fixture f(p);
    client c(f.srv->port());
    for (int i = 0; i < 5; ++i) post(c, "a", "u", "x");
    auto rec = f.srv->record();
    BOOST_TEST(rec.requests.size() == 3u);
    BOOST_TEST(rec.requests_total == 5u);
    BOOST_TEST(rec.find("a", "u")->messages.size() == 5u);
}

BOOST_AUTO_TEST_CASE(admin_endpoint, *boost::unit_test::timeout(guard))
{
    {
        server_fixture closed;  // admin off by default: 404
        client c(closed.srv->port());
        check_error(c.request(http::verb::get, "/_admin/record"), 404, "not_found");
    }
    auto p = server_fixture::default_params();
    p.admin = true;
    server_fixture f(p);
    client c(f.srv->port());
    post(c, "app1", "u", "hello");
    auto r = c.request(http::verb::get, "/_admin/record", {}, "");
    BOOST_TEST(r.result_int() == 200u);
    auto o = body_of(r);
    BOOST_TEST(o.at("requests_total").as_int64() == 1);
    BOOST_TEST(o.at("operations").at("post_message").as_int64() == 1);
    auto& convs = o.at("conversations").as_array();
    BOOST_REQUIRE(convs.size() == 1u);
    BOOST_TEST(convs[0].at("texts").at(0).as_string() == "hello");
    BOOST_TEST(convs[0].at("message_ids").as_array().size() == 1u);
    BOOST_TEST(o.at("requests").at(0).at("route").as_string() == "post_message");

    BOOST_TEST(c.request(http::verb::post, "/_admin/faults", "status=503,count=1\nstatus=500,count=1\n", "").result_int() == 200u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 503u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 500u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);
    check_error(c.request(http::verb::post, "/_admin/faults", "bogus=1", ""), 400, "bad_request", "bogus");
    c.request(http::verb::post, "/_admin/faults", "status=502", "");
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 502u);
    BOOST_TEST(c.request(http::verb::delete_, "/_admin/faults", {}, "").result_int() == 200u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);

    BOOST_TEST(c.request(http::verb::post, "/_admin/rate-limit", "0.01,1", "").result_int() == 200u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 429u);
    BOOST_TEST(c.request(http::verb::post, "/_admin/rate-limit", "off", "").result_int() == 200u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);

    BOOST_TEST(c.request(http::verb::post, "/_admin/reset", {}, "").result_int() == 200u);
    check_error(c.request(http::verb::get, msgs_path("app1", "u")), 404, "conversation_not_found");
    BOOST_TEST(body_of(c.request(http::verb::get, "/_admin/record", {}, "")).at("requests_total").as_int64() == 1);

    // Counts this connection's earlier requests too: it is closed right after this response.
    BOOST_TEST(c.request(http::verb::post, "/_admin/connections", "close_after_requests=1", "").result_int() == 200u);
    BOOST_TEST(!!c.wait_closed());
    client c2(f.srv->port());
    BOOST_TEST(c2.request(http::verb::post, "/_admin/connections", "close_after_requests=0,idle_timeout=60000", "").result_int() == 200u);
    BOOST_TEST(c2.request(http::verb::get, "/_admin/record", {}, "").result_int() == 200u);
    check_error(c2.request(http::verb::post, "/_admin/connections", "bogus=1", ""), 400, "bad_request");
    check_error(c2.request(http::verb::post, "/_admin/connections", "idle_timeout=0", ""), 400, "bad_request",
                "idle_timeout");
    BOOST_TEST(c2.request(http::verb::get, "/_admin/record", {}, "").result_int() == 200u);  // still usable
}

BOOST_AUTO_TEST_SUITE_END()

// =========================================================================================================
BOOST_AUTO_TEST_SUITE(faults)

BOOST_AUTO_TEST_CASE(grammar, *boost::unit_test::timeout(guard))
{
    auto r = mock::parse_fault("status=503,retry_after=1,count=5,route=post_message");
    BOOST_TEST((r.action == mock::fault_action::status));
    BOOST_TEST(r.status == 503u);
    BOOST_TEST(*r.retry_after == "1");
    BOOST_TEST(*r.count == 5u);
    BOOST_TEST(*r.route == "post_message");
    r = mock::parse_fault(R"(status=429,retry_after="Wed, 21 Oct 2015 07:28:00 GMT",method=GET)");
    BOOST_TEST(*r.retry_after == "Wed, 21 Oct 2015 07:28:00 GMT");
    BOOST_TEST(*r.method == "GET");
    r = mock::parse_fault("reset,apply,app=app 1,user=u,skip=2,probability=0.5,delay=20");
    BOOST_TEST((r.action == mock::fault_action::reset));
    BOOST_TEST(r.apply_before_fault);
    BOOST_TEST(*r.app_id == "app 1");
    BOOST_TEST(*r.user_id == "u");
    BOOST_TEST(r.skip == 2u);
    BOOST_TEST(r.probability == 0.5);
    BOOST_TEST(r.delay.count() == 20);
    BOOST_TEST(!r.count);
    r = mock::parse_fault("malformed,status=200");
    BOOST_TEST((r.action == mock::fault_action::malformed));
    BOOST_TEST(r.status == 200u);
    r = mock::parse_fault("status=201,truncate");
    BOOST_TEST((r.action == mock::fault_action::truncate));
    BOOST_TEST(r.status == 201u);
    BOOST_TEST((mock::parse_fault("delay=5").action == mock::fault_action::none));
    BOOST_TEST((mock::parse_fault("stall").action == mock::fault_action::stall));
    BOOST_TEST((mock::parse_fault("close").action == mock::fault_action::close));
    for (auto bad : {"", "bogus", "status=abc", "status=99", "reset,close", "count=-1", "probability=2", "probability=0",
                     "route=nope", "retry_after=1", "reset=1", "delay", "status=503,retry_after=\"x"})
        BOOST_CHECK_THROW(mock::parse_fault(bad), std::invalid_argument);
}

// Fault statuses must be able to carry the body the mock sends: 200..599 except 204 and 304 (1xx would not
// even end the exchange). Checked when parsed and when a rule is added in code.
BOOST_AUTO_TEST_CASE(fault_status_range, *boost::unit_test::timeout(guard))
{
    for (unsigned ok : {200u, 201u, 205u, 299u, 302u, 400u, 429u, 503u, 599u}) {
        BOOST_TEST(mock::parse_fault("status=" + std::to_string(ok)).status == ok);
        BOOST_TEST(mock::parse_fault("malformed,status=" + std::to_string(ok)).status == ok);
    }
    for (auto bad : {"status=100", "status=101", "status=103", "status=199", "status=204", "status=304", "status=600",
                     "truncate,status=204", "stall,status=100", "malformed,status=304", "status=0"}) {
        try {
            mock::parse_fault(bad);
            BOOST_ERROR("accepted " << bad);
        } catch (const std::invalid_argument& e) {
            BOOST_TEST(std::string(e.what()).find("status") != std::string::npos, e.what());
        }
    }
    asio::io_context io;
    mock::fault_rule r;
    r.action = mock::fault_action::status;
    r.status = 204;
    mock::server s(io.get_executor(), server_fixture::default_params());
    BOOST_CHECK_THROW(s.add_fault(r), std::invalid_argument);
    r.status = 150;
    BOOST_CHECK_THROW(s.add_fault(r), std::invalid_argument);
    r.status = 0;  // 0 = the default 503
    s.add_fault(r);
    auto p = server_fixture::default_params();
    r.status = 304;
    p.faults.push_back(r);
    BOOST_CHECK_THROW(mock::server(io.get_executor(), p), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(status_with_and_without_retry_after, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    f.srv->add_fault(mock::parse_fault("status=503,retry_after=1,count=2,route=post_message"));
    f.srv->add_fault(mock::parse_fault(R"(status=429,retry_after="Wed, 21 Oct 2015 07:28:00 GMT",count=1,method=GET)"));
    f.srv->add_fault(mock::parse_fault("status=500,count=1,method=GET"));
    auto r = c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a"));
    check_error(r, 503, "service_unavailable");
    BOOST_TEST(r[http::field::retry_after] == "1");
    BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a")).result_int() == 503u);
    BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a")).result_int() == 201u);
    r = c.request(http::verb::get, msgs_path("app1", "u"));
    check_error(r, 429, "too_many_requests");
    BOOST_TEST(r[http::field::retry_after] == "Wed, 21 Oct 2015 07:28:00 GMT");
    r = c.request(http::verb::get, msgs_path("app1", "u"));
    check_error(r, 500, "internal_error");
    BOOST_TEST((r.find(http::field::retry_after) == r.end()));
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);
    auto rec = f.srv->record();
    BOOST_TEST(rec.fault_count(mock::fault_action::status) == 4u);
    BOOST_TEST(rec.find("app1", "u")->created_ids.size() == 1u);  // faulted posts were not applied
    BOOST_TEST(rec.rate_limited == 0u);
    BOOST_TEST(rec.requests[0].faulted);
    BOOST_TEST(!rec.requests[0].applied);
    BOOST_TEST(rec.requests[0].status == 503u);
}

BOOST_AUTO_TEST_CASE(status_applied_before_fault, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    f.srv->add_fault(mock::parse_fault("status=500,apply,count=1"));
    BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a")).result_int() == 500u);
    auto rec = f.srv->record();
    BOOST_TEST(rec.find("app1", "u")->messages.size() == 1u);
    BOOST_TEST(rec.requests[0].applied);
}

BOOST_AUTO_TEST_CASE(delay, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    f.srv->add_fault(mock::parse_fault("delay=300,count=1"));
    auto t0 = std::chrono::steady_clock::now();
    BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a")).result_int() == 201u);
    BOOST_TEST((std::chrono::steady_clock::now() - t0 >= 300ms));
    BOOST_TEST(f.srv->record().fault_count(mock::fault_action::none) == 1u);
    // With a status: the status comes after the delay.
    f.srv->add_fault(mock::parse_fault("delay=200,status=503,count=1"));
    t0 = std::chrono::steady_clock::now();
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 503u);
    BOOST_TEST((std::chrono::steady_clock::now() - t0 >= 200ms));
}

BOOST_AUTO_TEST_CASE(reset_before_response, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    f.srv->add_fault(mock::parse_fault("reset,count=1,route=post_message"));
    f.srv->add_fault(mock::parse_fault("reset,apply,count=1,route=post_message"));
    {
        client c(f.srv->port());
        BOOST_REQUIRE(!c.send(http::verb::post, msgs_path("app1", "u"), text_msg("lost"), basic_std("acct", "acct-secret")));
        response r;
        auto ec = c.read(r);
        // A TCP RST: the kernel reports ECONNRESET, which the SSL stream and Beast pass through unchanged.
        BOOST_TEST((ec == asio::error::connection_reset), ec.category().name() << ":" << ec.value() << " " << ec.message());
    }
    BOOST_TEST(!f.srv->record().find("app1", "u"));  // not applied
    {
        client c(f.srv->port());
        BOOST_REQUIRE(!c.send(http::verb::post, msgs_path("app1", "u"), text_msg("stored"), basic_std("acct", "acct-secret")));
        response r;
        auto ec = c.read(r);
        BOOST_TEST((ec == asio::error::connection_reset), ec.category().name() << ":" << ec.value() << " " << ec.message());
    }
    auto rec = f.srv->record();
    BOOST_REQUIRE(rec.find("app1", "u"));
    BOOST_TEST(rec.find("app1", "u")->texts() == std::vector<std::string>{"stored"});
    BOOST_TEST(rec.fault_count(mock::fault_action::reset) == 2u);
    BOOST_TEST(rec.requests[1].status == 0u);
    BOOST_TEST(rec.requests[1].applied);
    client c(f.srv->port());
    BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a")).result_int() == 201u);
}

BOOST_AUTO_TEST_CASE(close_after_response, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    f.srv->add_fault(mock::parse_fault("close,count=1"));
    client c(f.srv->port());
    auto r = c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a"));
    BOOST_TEST(r.result_int() == 201u);
    BOOST_TEST(r.keep_alive());  // no Connection: close: the client learns only by the closed socket
    auto ec = c.wait_closed();
    BOOST_TEST((ec && ec != asio::error::timed_out), ec.message());
    BOOST_TEST(f.srv->record().find("app1", "u")->messages.size() == 1u);
}

BOOST_AUTO_TEST_CASE(truncate_body, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    f.srv->add_fault(mock::parse_fault("truncate,count=1"));
    f.srv->add_fault(mock::parse_fault("truncate,apply,count=1"));
    for (int i = 0; i < 2; ++i) {
        client c(f.srv->port());
        BOOST_REQUIRE(!c.send(http::verb::post, msgs_path("app1", "u"), text_msg("t"), basic_std("acct", "acct-secret")));
        http::response_parser<http::string_body> p;
        auto ec = c.run([&](auto h) { http::async_read_header(*c.stream, c.buf, p, h); });
        BOOST_REQUIRE(!ec);
        BOOST_TEST(p.get().result_int() == 201u);
        BOOST_TEST(p.content_length().value_or(0) > 0u);
        ec = c.run([&](auto h) { http::async_read(*c.stream, c.buf, p, h); });
        BOOST_TEST(!!ec);  // body cut short, then the connection closed
        BOOST_TEST((ec != asio::error::timed_out));
    }
    auto rec = f.srv->record();
    BOOST_TEST(rec.find("app1", "u")->messages.size() == 1u);
    BOOST_TEST(rec.fault_count(mock::fault_action::truncate) == 2u);
}

BOOST_AUTO_TEST_CASE(malformed_body, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    post(c, "app1", "u", "a");
    f.srv->add_fault(mock::parse_fault("malformed,count=1,route=get_messages"));
    f.srv->add_fault(mock::parse_fault("malformed,status=502,count=1"));
    auto r = c.request(http::verb::get, msgs_path("app1", "u"));
    BOOST_TEST(r.result_int() == 200u);
    error_code ec;
    json::parse(r.body(), ec);
    BOOST_TEST(!!ec);
    r = c.request(http::verb::get, msgs_path("app1", "u"));  // same connection still usable
    BOOST_TEST(r.result_int() == 502u);
    json::parse(r.body(), ec);
    BOOST_TEST(!!ec);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);
}

BOOST_AUTO_TEST_CASE(stall_after_headers, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.idle_timeout = 500ms;  // bounds the stall
    server_fixture f(p);
    f.srv->add_fault(mock::parse_fault("stall,count=1"));
    client c(f.srv->port());
    BOOST_REQUIRE(!c.send(http::verb::post, msgs_path("app1", "u"), text_msg("s"), basic_std("acct", "acct-secret")));
    http::response_parser<http::string_body> rp;
    auto ec = c.run([&](auto h) { http::async_read_header(*c.stream, c.buf, rp, h); });
    BOOST_REQUIRE(!ec);
    BOOST_TEST(rp.get().result_int() == 201u);
    auto t0 = std::chrono::steady_clock::now();
    ec = c.run([&](auto h) { http::async_read(*c.stream, c.buf, rp, h); });
    BOOST_TEST(!!ec);
    BOOST_TEST((ec != asio::error::timed_out));  // the server gave up after idle_timeout
    BOOST_TEST((std::chrono::steady_clock::now() - t0 >= 400ms));
    BOOST_TEST(!f.srv->record().find("app1", "u"));
}

BOOST_AUTO_TEST_CASE(matching_skip_and_probability, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    post(c, "app1", "u", "a");
    post(c, "app2", "u", "a");
    f.srv->add_fault(mock::parse_fault("status=503,app=app2,route=get_messages,skip=1,count=2"));
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);  // other app
    BOOST_TEST(c.request(http::verb::post, msgs_path("app2", "u"), text_msg("b")).result_int() == 201u);  // other route
    BOOST_TEST(c.request(http::verb::get, msgs_path("app2", "u")).result_int() == 200u);  // skipped
    BOOST_TEST(c.request(http::verb::get, msgs_path("app2", "u")).result_int() == 503u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app2", "u")).result_int() == 503u);
    BOOST_TEST(c.request(http::verb::get, msgs_path("app2", "u")).result_int() == 200u);  // retired
    f.srv->clear_faults();

    // Probability: deterministic for a seed, and roughly the asked fraction.
    auto run_seeded = [&](std::uint64_t seed) {
        auto p = server_fixture::default_params();
        p.seed = seed;
        p.faults.push_back(mock::parse_fault("status=503,probability=0.3"));
        server_fixture g(p);
        client cc(g.srv->port());
        std::vector<unsigned> statuses;
        for (int i = 0; i < 200; ++i) statuses.push_back(cc.request(http::verb::get, "/x").result_int());
        return statuses;
    };
    auto a = run_seeded(42), b = run_seeded(42), d = run_seeded(7);
    BOOST_TEST(a == b);
    BOOST_TEST(a != d);
    auto n503 = std::count(a.begin(), a.end(), 503u);
    BOOST_TEST(n503 > 30);
    BOOST_TEST(n503 < 90);
}

BOOST_AUTO_TEST_CASE(close_after_n_requests, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.close_after_requests = 2;
    server_fixture f(p);
    client c(f.srv->port());
    BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a")).result_int() == 201u);
    auto r = c.request(http::verb::post, msgs_path("app1", "u"), text_msg("b"));
    BOOST_TEST(r.result_int() == 201u);
    BOOST_TEST(r.keep_alive());  // silently
    auto ec = c.wait_closed();
    BOOST_TEST((ec && ec != asio::error::timed_out));
    f.srv->set_close_after_requests(0);
    client c2(f.srv->port());
    for (int i = 0; i < 5; ++i) BOOST_TEST(c2.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);
}

BOOST_AUTO_TEST_CASE(idle_connections_closed_silently, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.idle_timeout = 300ms;
    server_fixture f(p);
    client c(f.srv->port());
    auto r = c.request(http::verb::post, msgs_path("app1", "u"), text_msg("a"));
    BOOST_TEST(r.keep_alive());
    auto t0 = std::chrono::steady_clock::now();
    auto ec = c.wait_closed();
    BOOST_TEST((ec && ec != asio::error::timed_out));
    BOOST_TEST((std::chrono::steady_clock::now() - t0 >= 250ms));
    // The stale connection fails on reuse; a new one works.
    c.connect();
    BOOST_TEST(c.request(http::verb::get, msgs_path("app1", "u")).result_int() == 200u);
}

BOOST_AUTO_TEST_SUITE_END()

// =========================================================================================================
BOOST_AUTO_TEST_SUITE(hostile)

BOOST_AUTO_TEST_CASE(hostile_ids_round_trip, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    std::vector<std::string> ids = {"a b", "a/b", "q?x=1", "h#f", "100%", "cr\r\nlf", "caf\xc3\xa9", "\xff\xfe", "+plus",
                                    "steveb@channel5.com", std::string("nul\0byte", 8)};
    for (auto& id : ids) {
        auto p = post(c, id, id, "for " + pct(id));
        auto g = c.request(http::verb::get, msgs_path(id, id));
        BOOST_TEST(g.result_int() == 200u);
        auto o = body_of(g);
        BOOST_TEST(o.at("messages").as_array().size() == 1u);
        BOOST_TEST(o.at("messages").at(0).at("_id") == p.at("message").at("_id"));
    }
    auto rec = f.srv->record();
    BOOST_TEST(rec.conversations.size() == ids.size());
    for (auto& id : ids) BOOST_TEST(rec.find(id, id) != nullptr, "missing " << id);
    // An encoded '/' stays inside its segment: "a/b" is one user, not a longer path.
    BOOST_TEST(rec.find("a", "b") == nullptr);
    // next/previous URLs encode the ids again.
    for (int i = 0; i < 101; ++i) post(c, "a b", "a/b", "x");
    auto o = body_of(c.request(http::verb::get, msgs_path("a b", "a/b")));
    auto prev = json::value_to<std::string>(o.at("previous"));
    BOOST_TEST(prev.find("/v1.1/apps/a%20b/appusers/a%2Fb/messages?before=") != std::string::npos, prev);
    // Broken escapes are a 400.
    check_error(c.request(http::verb::get, "/v1.1/apps/a%zz/appusers/u/messages"), 400, "bad_request");
    check_error(c.request(http::verb::get, "/v1.1/apps/a/appusers/u%/messages"), 400, "bad_request");
}

BOOST_AUTO_TEST_CASE(garbage_and_oversized_headers, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    {
        client c(f.srv->port());
        BOOST_REQUIRE(!c.write_raw(std::string("\x00\x01\x02 garbage \xff\r\n\r\n", 17)));
        response r;
        auto ec = c.read(r);
        if (!ec) BOOST_TEST(r.result_int() == 400u);
        BOOST_TEST(!!c.wait_closed());
    }
    {
        client c(f.srv->port());
        std::string huge = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n";
        BOOST_REQUIRE(!c.write_raw(huge));
        response r;
        BOOST_REQUIRE(!c.read(r));
        check_error(r, 431, "request_header_fields_too_large");
        BOOST_TEST(!!c.wait_closed());
    }
    {
        client c(f.srv->port());
        std::string many = "GET / HTTP/1.1\r\n";
        for (int i = 0; i < 2000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
        many += "\r\n";
        BOOST_REQUIRE(!c.write_raw(many));
        response r;
        BOOST_REQUIRE(!c.read(r));
        BOOST_TEST(r.result_int() == 431u);
    }
    {
        client c(f.srv->port());  // bad chunked body
        BOOST_REQUIRE(!c.write_raw("POST /v1.1/apps/a/appusers/u/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"));
        BOOST_TEST(!!c.wait_closed());
    }
    {
        client c(f.srv->port(), false);  // plain bytes on the TLS port
        BOOST_REQUIRE(!c.write_raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        BOOST_TEST(!!c.wait_closed());
    }
    {
        // Random bytes after a valid handshake, many times: the server never crashes.
        std::mt19937 rng(1);
        for (int round = 0; round < 20; ++round) {
            client c(f.srv->port());
            std::string junk(static_cast<std::size_t>(rng() % 3000 + 1), '\0');
            for (auto& ch : junk) ch = static_cast<char>(rng());
            if (round % 2) junk = "POST /v1.1/apps/a/appusers/u/messages HTTP/1.1\r\nContent-Length: 5\r\n\r\n" + junk;
            (void)c.write_raw(junk);
            (void)c.wait_closed(2s);
        }
    }
    client ok(f.srv->port());
    BOOST_TEST(ok.request(http::verb::get, "/x").result_int() == 404u);
}

BOOST_AUTO_TEST_CASE(slowloris_closed, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.header_timeout = 300ms;
    p.body_timeout = 300ms;
    server_fixture f(p);
    {
        client c(f.srv->port());
        BOOST_REQUIRE(!c.write_raw("GET /v1.1/apps/a/appusers/u/messages HTTP/1.1\r\nHost: x\r\nX-Slow: "));
        auto t0 = std::chrono::steady_clock::now();
        auto ec = c.wait_closed();
        BOOST_TEST((ec && ec != asio::error::timed_out));
        BOOST_TEST((std::chrono::steady_clock::now() - t0 >= 250ms));
    }
    {
        client c(f.srv->port());  // slow body
        BOOST_REQUIRE(!c.write_raw("POST /v1.1/apps/a/appusers/u/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"));
        auto ec = c.wait_closed();
        BOOST_TEST((ec && ec != asio::error::timed_out));
    }
    {
        // Silent TCP client that never starts the TLS handshake: closed after handshake_timeout.
        auto q = server_fixture::default_params();
        q.handshake_timeout = 300ms;
        server_fixture g(q);
        client c(g.srv->port(), false);
        auto ec = c.wait_closed();
        BOOST_TEST((ec && ec != asio::error::timed_out));
    }
}

BOOST_AUTO_TEST_CASE(max_connections, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.max_connections = 2;
    server_fixture f(p);
    client a(f.srv->port()), b(f.srv->port());
    BOOST_TEST(a.request(http::verb::get, "/x").result_int() == 404u);
    BOOST_TEST(b.request(http::verb::get, "/x").result_int() == 404u);
    asio::io_context cio;
    tcp::socket s(cio);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), f.srv->port()));
    // The third is accepted and closed at once: the read sees EOF (bounded by the server, not by us).
    std::array<char, 16> buf;
    error_code ec;
    std::size_t n = 0;
    bool done = false;
    s.async_read_some(asio::buffer(buf), [&](error_code e, std::size_t k) { ec = e; n = k; done = true; });
    cio.run_for(io_timeout);
    BOOST_TEST(done);
    BOOST_TEST(!!ec);
}

BOOST_AUTO_TEST_CASE(plain_http_and_http10, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.tls.reset();
    server_fixture f(p);
    BOOST_TEST(f.srv->base_url().rfind("http://127.0.0.1:", 0) == 0u);
    client c(f.srv->port(), false);
    BOOST_TEST(c.request(http::verb::post, msgs_path("a", "u"), text_msg("x")).result_int() == 201u);
    BOOST_REQUIRE(!c.write_raw("GET /v1.1/apps/a/appusers/u/messages HTTP/1.0\r\nAuthorization: " +
                               basic_std("acct", "acct-secret") + "\r\n\r\n"));
    response r;
    BOOST_REQUIRE(!c.read(r));
    BOOST_TEST(r.result_int() == 200u);
    BOOST_TEST(!r.keep_alive());
    BOOST_TEST(!!c.wait_closed());
}

// A chunked body has no Content-Length to check up front: the server counts while reading and answers 413 as
// soon as the total crosses body_limit, without waiting for the end of the body (never sent here).
BOOST_AUTO_TEST_CASE(chunked_body_over_limit_413, *boost::unit_test::timeout(guard))
{
    server_fixture f;  // body_limit: the default 100 KiB
    auto path = msgs_path("app1", "chunky");
    auto head = "POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic_std("acct", "acct-secret") +
                "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    auto chunked = [](std::string_view body) {  // 4 KiB chunks, each far below the limit
        std::string out;
        for (std::size_t i = 0; i < body.size(); i += 4096) {
            auto part = body.substr(i, 4096);
            char size[16];
            std::snprintf(size, sizeof size, "%zx\r\n", part.size());
            out += size;
            out += part;
            out += "\r\n";
        }
        return out;
    };
    {
        // The same framing under the limit is a normal request: the 413 below is about the total only.
        client c(f.srv->port());
        std::string text(95 * 1024, 'u');
        BOOST_REQUIRE(!c.write_raw(head + chunked(text_msg(text)) + "0\r\n\r\n"));
        response r;
        BOOST_REQUIRE(!c.read(r));
        BOOST_TEST(r.result_int() == 201u, r.body());
        BOOST_TEST(body_of(r).at("message").at("text").as_string().size() == text.size());
    }
    {
        client c(f.srv->port());
        // 26 chunks of 4 KiB = 104 KiB, no last chunk: only counting can decide.
        BOOST_REQUIRE(!c.write_raw(head + chunked(std::string(26 * 4096, 'a'))));
        response r;
        auto ec = c.read(r);
        BOOST_REQUIRE_MESSAGE(!ec, "read: " << ec.message());
        check_error(r, 413, "request_entity_too_large");
        BOOST_TEST(!r.keep_alive());  // Connection: close
        ec = c.wait_closed();
        BOOST_TEST((ec && ec != asio::error::timed_out), ec.message());
    }
    for (int round = 0; round < 2; ++round) {
        // A client that sends its whole oversized chunked body in one write must be able to finish writing
        // and read the 413: the server lingers (bounded) instead of closing on data still arriving, which
        // would fail the write with a broken pipe.
        client c(f.srv->port());
        auto ec = c.write_raw(head + chunked(std::string(400 * 1024, 'b')) + "0\r\n\r\n");
        BOOST_REQUIRE_MESSAGE(!ec, "write: " << ec.message());
        response r;
        ec = c.read(r);
        BOOST_REQUIRE_MESSAGE(!ec, "read: " << ec.message());
        check_error(r, 413, "request_entity_too_large");
    }
    auto rec = f.srv->record();
    BOOST_REQUIRE(rec.find("app1", "chunky"));
    BOOST_TEST(rec.find("app1", "chunky")->messages.size() == 1u);  // only the one under the limit
    BOOST_TEST(rec.requests_total == 1u);  // the rejected ones never reached the engine
    // The server is still usable.
    client c(f.srv->port());
    BOOST_TEST(c.request(http::verb::post, path, text_msg("after")).result_int() == 201u);
}

// A client that sends requests but never reads the answers: the write of a response cannot finish, and after
// write_timeout the server closes the connection, freeing its slot, while it keeps serving everyone else.
BOOST_AUTO_TEST_CASE(client_that_never_reads_closed_by_write_timeout, *boost::unit_test::timeout(guard))
{
    constexpr auto write_timeout = 500ms;
    auto p = server_fixture::default_params();
    p.write_timeout = write_timeout;
    p.max_connections = 2;  // `other` + the stuck client: a new connection is served only once a slot is freed
    server_fixture f(p);
    client other(f.srv->port());
    // 10 messages of 90 KiB: each get_messages page is over 900 KB.
    auto path = msgs_path("app1", "big");
    std::string text(90 * 1024, 'x');
    for (int i = 0; i < 10; ++i) {
        auto r = other.request(http::verb::post, path, text_msg(text));
        BOOST_REQUIRE(r.result_int() == 201u);
    }
    constexpr std::size_t pages = 64;  // ~60 MB of responses: far more than the socket buffers hold
    constexpr std::size_t page_min = 10 * 90 * 1024;

    client stuck(client::deferred, f.srv->port());
    stuck.rcvbuf = 16 * 1024;  // a small TCP window, so the responses pile up on the server's side
    stuck.connect();
    std::string gets;
    for (std::size_t i = 0; i < pages; ++i) gets += raw_get(path);
    auto t0 = std::chrono::steady_clock::now();
    BOOST_REQUIRE(!stuck.write_raw(gets));  // all the requests in one write, then never a read

    // Others are served while that response cannot be written.
    BOOST_TEST(other.request(http::verb::post, msgs_path("app1", "small"), text_msg("hi")).result_int() == 201u);
    // Both slots are taken until the server gives up on the stuck client: wait for a new connection to be
    // served (bounded), which cannot happen before the write deadline.
    auto fresh = connect_when_served(f.srv->port());
    auto freed_after = std::chrono::steady_clock::now() - t0;
    BOOST_REQUIRE_MESSAGE(fresh, "the stuck client's connection was never closed");
    BOOST_TEST((freed_after >= write_timeout),
               "freed after " << std::chrono::duration_cast<std::chrono::milliseconds>(freed_after).count() << " ms");
    BOOST_TEST(fresh->request(http::verb::get, msgs_path("app1", "small")).result_int() == 200u);

    // The stuck client finds its connection closed after what was already in flight: the start of the first
    // response, far less than all it asked for.
    std::string got;
    std::array<char, 64 * 1024> chunk;
    error_code ec;
    for (int i = 0; i < 100'000 && !ec; ++i) {
        std::size_t n = 0;
        ec = stuck.run([&](auto h) {
            stuck.stream->async_read_some(asio::buffer(chunk), [&n, h](error_code e, std::size_t k) mutable {
                n = k;
                h(e);
            });
        });
        got.append(chunk.data(), n);
    }
    BOOST_TEST((ec && ec != asio::error::timed_out), ec.message());
    BOOST_TEST(got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0u, got.substr(0, 100));
    BOOST_TEST(got.size() < pages * page_min, got.size());
    auto rec = f.srv->record();
    BOOST_TEST(rec.routed.at("get_messages") < pages + 1);  // `fresh` made one; the stuck client's were not all handled
    BOOST_TEST(other.request(http::verb::post, msgs_path("app1", "small"), text_msg("still")).result_int() == 201u);
}

// Several complete requests in one write on one connection: answered one after the other, in order, each as
// if sent alone (a Content-Length body, a chunked body, bodyless requests, an error in between).
BOOST_AUTO_TEST_CASE(pipelined_requests_answered_in_order, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    auto path = msgs_path("app1", "pipe");
    auto second = text_msg("second");
    char size[16];
    std::snprintf(size, sizeof size, "%zx", second.size() - 5);
    std::string wire = raw_post(path, text_msg("first")) +
                       "POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic_std("acct", "acct-secret") +
                       "\r\nTransfer-Encoding: chunked\r\n\r\n" + size + "\r\n" + second.substr(0, second.size() - 5) +
                       "\r\n5\r\n" + second.substr(second.size() - 5) + "\r\n0\r\n\r\n" +
                       raw_get(path) + raw_get(msgs_path("app1", "nobody")) +
                       raw_post("/v1.1/apps/app1/appusers/pipe/conversation/read", "") + raw_get(path);
    BOOST_REQUIRE(!c.write_raw(wire));
    std::vector<response> rs(6);
    for (std::size_t i = 0; i < rs.size(); ++i) {
        auto ec = c.read(rs[i]);
        BOOST_REQUIRE_MESSAGE(!ec, "response " << i << ": " << ec.message());
    }
    BOOST_TEST(rs[0].result_int() == 201u);
    BOOST_TEST(rs[1].result_int() == 201u);
    auto m1 = body_of(rs[0]).at("message"), m2 = body_of(rs[1]).at("message");
    BOOST_TEST(m1.at("text").as_string() == "first");
    BOOST_TEST(m2.at("text").as_string() == "second");
    // The GET saw both posts, the unread count after them; the 404 is the other user's; read reset the count.
    BOOST_TEST(rs[2].result_int() == 200u);
    auto g = body_of(rs[2]);
    BOOST_REQUIRE(g.at("messages").as_array().size() == 2u);
    BOOST_TEST(g.at("messages").at(0).at("_id") == m1.at("_id"));
    BOOST_TEST(g.at("messages").at(1).at("_id") == m2.at("_id"));
    BOOST_TEST(g.at("conversation").at("unreadCount").as_int64() == 2);
    check_error(rs[3], 404, "conversation_not_found");
    BOOST_TEST(rs[4].result_int() == 200u);
    BOOST_TEST(rs[4].body() == "{}");
    BOOST_TEST(rs[5].result_int() == 200u);
    BOOST_TEST(body_of(rs[5]).at("conversation").at("unreadCount").as_int64() == 0);
    for (auto& r : rs) BOOST_TEST(r.keep_alive());
    // Nothing left over: the connection goes on with a request of its own.
    BOOST_TEST(c.request(http::verb::get, path).result_int() == 200u);
    auto rec = f.srv->record();
    std::vector<std::string> routes;
    for (auto& r : rec.requests) routes.push_back(r.route);
    BOOST_TEST(routes == (std::vector<std::string>{"post_message", "post_message", "get_messages", "get_messages",
                                                   "reset_unread_count", "get_messages", "get_messages"}),
               boost::test_tools::per_element());
}

// A real slowloris: the head arrives one byte at a time, each byte well within any per-read timeout, the
// whole far slower than header_timeout. header_timeout runs from the first byte, so the drip is cut off; and
// the connection's slot is freed every time (with max_connections = 1 a leaked slot would refuse the next).
BOOST_AUTO_TEST_CASE(slowloris_byte_by_byte_cut_off, *boost::unit_test::timeout(guard))
{
    constexpr auto header_timeout = 400ms;
    constexpr auto pace = 40ms;  // the ~120-byte head would take ~5 s
    auto p = server_fixture::default_params();
    p.header_timeout = header_timeout;
    p.max_connections = 1;
    server_fixture f(p);
    auto head = raw_get(msgs_path("app1", "slow"));
    for (int round = 0; round < 3; ++round) {
        BOOST_TEST_CONTEXT("round " << round)
        {
            auto c = connect_when_served(f.srv->port());
            BOOST_REQUIRE_MESSAGE(c, "no slot: the previous connection was not released");
            bool closed = false;
            error_code read_ec;
            std::array<char, 256> sink;
            c->stream->async_read_some(asio::buffer(sink), [&](error_code e, std::size_t) {
                closed = true;
                read_ec = e;
            });
            asio::steady_timer t(c->cio);
            std::size_t sent = 0;
            auto t0 = std::chrono::steady_clock::now();
            while (sent < head.size() && !closed) {
                if (c->write_raw(head.substr(sent, 1))) break;
                ++sent;
                t.expires_after(pace);
                if (c->run([&](auto h) { t.async_wait(h); })) break;
            }
            BOOST_REQUIRE(run_until(*c, [&] { return closed; }));
            auto elapsed = std::chrono::steady_clock::now() - t0;
            BOOST_TEST((read_ec && read_ec != asio::error::timed_out), read_ec.message());
            BOOST_TEST(sent < head.size(), sent << " of " << head.size() << " bytes");  // cut off mid-head
            BOOST_TEST((elapsed >= header_timeout));
        }
    }
    BOOST_TEST(f.srv->record().requests_total == 0u);  // no dripped request ever got through
    auto c = connect_when_served(f.srv->port());
    BOOST_REQUIRE(c);
    check_error(c->request(http::verb::get, msgs_path("app1", "slow")), 404, "conversation_not_found");
}

BOOST_AUTO_TEST_CASE(bad_params_throw, *boost::unit_test::timeout(guard))
{
    asio::io_context io;
    auto p = server_fixture::default_params();
    p.body_limit = 0;
    BOOST_CHECK_THROW(mock::server(io.get_executor(), p), std::invalid_argument);
    p = server_fixture::default_params();
    p.keys.push_back({"", "x", std::nullopt});
    BOOST_CHECK_THROW(mock::server(io.get_executor(), p), std::invalid_argument);
    // Timeouts must be positive (and at most a day, so deadlines never overflow the clock).
    using ms = std::chrono::milliseconds;
    for (auto field : {&mock::server_params::idle_timeout, &mock::server_params::header_timeout,
                       &mock::server_params::body_timeout, &mock::server_params::write_timeout,
                       &mock::server_params::handshake_timeout}) {
        for (auto bad : {ms(0), ms(-1), ms(-60'000), ms(86'400'001)}) {
            p = server_fixture::default_params();
            p.*field = bad;
            BOOST_CHECK_THROW(mock::server(io.get_executor(), p), std::invalid_argument);
            BOOST_CHECK_THROW(mock::engine{p}, std::invalid_argument);
        }
        p = server_fixture::default_params();
        p.*field = ms(1);
        BOOST_CHECK_NO_THROW(mock::server(io.get_executor(), p));
    }
    {
        mock::server ok(io.get_executor(), server_fixture::default_params());
        BOOST_CHECK_THROW(ok.set_idle_timeout(ms(0)), std::invalid_argument);
        BOOST_CHECK_THROW(ok.set_idle_timeout(ms(-5)), std::invalid_argument);
        ok.set_idle_timeout(ms(5));
    }
    BOOST_CHECK_THROW(mock::parse_fault("delay=86400001"), std::invalid_argument);
    p = server_fixture::default_params();
    p.tls->key_pem = "not a key";
    BOOST_CHECK_THROW(mock::server(io.get_executor(), p), std::exception);
    p = server_fixture::default_params();
    p.host = "203.0.113.1";  // not ours: bind fails
    mock::server s(io.get_executor(), p);
    BOOST_CHECK_THROW(s.start(), boost::system::system_error);
    BOOST_CHECK_THROW(mock::generate_tls({}), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()

// =========================================================================================================
#ifdef SMOOCH_MOCK_EXE
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

} // namespace

BOOST_AUTO_TEST_SUITE(program)

BOOST_AUTO_TEST_CASE(program_prints_listening_and_stops_on_sigterm, *boost::unit_test::timeout(guard))
{
    temp_dir dir;
    auto ca_path = dir.path + "/ca.pem";
    mock_process prog({"--self-signed", "--write-ca", ca_path, "--key-id", "k", "--secret", "s", "--fault",
                       "status=503,count=1"});
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
            if (e) { ec = e; done = true; return; }
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
            if (e) { done = true; return; }
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
        {"--plain", {"--plain"}, false, false,
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
        {"--rate-limit --burst", with_tls({"--rate-limit", "0.01", "--burst", "3"}), true, false,
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
             BOOST_TEST(c.request(http::verb::post, msgs_path("app1", "u"), text_msg("hi"), jwt_app).result_int() == 201u);
             check_error(c.request(http::verb::post, msgs_path("app2", "u"), text_msg("hi"), jwt_app), 403, "forbidden");
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

BOOST_AUTO_TEST_SUITE_END()
#endif

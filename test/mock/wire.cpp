// SPDX-License-Identifier: BSL-1.0
// Definitions of wire.hpp.

#include "wire.hpp"

#include <boost/asio/connect.hpp>

namespace mock_test {

const mock::tls_material& shared_tls()
{
    static const mock::tls_material t = mock::generate_tls();
    return t;
}

server_fixture::server_fixture(mock::server_params p)
{
    srv = std::make_unique<mock::server>(io.get_executor(), std::move(p));
    srv->start();
    th = std::thread([this] { io.run(); });
}

server_fixture::~server_fixture()
{
    srv->stop();
    th.join();
}

mock::server_params server_fixture::default_params()
{
    mock::server_params p;
    p.tls = shared_tls();
    p.keys = {{"acct", "acct-secret", std::nullopt}, {"app1key", "app1-secret", "app1"}};
    return p;
}

client::client(unsigned short port, bool tls, std::string sni) : client(deferred, port, tls) { connect(sni); }

client::client(deferred_t, unsigned short port, bool tls, const std::string& ca_pem) : port_(port), tls_(tls)
{
    ctx.add_certificate_authority(asio::buffer(ca_pem));
    ctx.set_verify_mode(ssl::verify_peer);
}

void client::connect(const std::string& sni)
{
    auto ec = try_connect(sni);
    BOOST_REQUIRE_MESSAGE(!ec, "connect/handshake: " << ec.message());
}

error_code client::try_connect(const std::string& sni)
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

error_code client::write_raw(std::string_view data)
{
    return run([&](auto h) {
        if (tls_) asio::async_write(*stream, asio::buffer(data.data(), data.size()), h);
        else asio::async_write(stream->next_layer(), asio::buffer(data.data(), data.size()), h);
    });
}

error_code client::read(response& res, std::chrono::steady_clock::duration limit)
{
    res = {};
    return run(
        [&](auto h) {
            if (tls_) http::async_read(*stream, buf, res, h);
            else http::async_read(stream->next_layer(), buf, res, h);
        },
        limit);
}

error_code client::wait_closed(std::chrono::steady_clock::duration limit)
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

error_code client::send(http::verb method, const std::string& target, const std::string& body, const std::string& auth,
                        bool keep_alive)
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

response client::request(http::verb method, const std::string& target, const std::string& body, const std::string& auth)
{
    auto ec = send(method, target, body, auth);
    BOOST_REQUIRE_MESSAGE(!ec, "write: " << ec.message());
    response res;
    ec = read(res);
    BOOST_REQUIRE_MESSAGE(!ec, "read: " << ec.message() << " for " << target);
    return res;
}

json::object body_of(const response& r)
{
    error_code ec;
    auto v = json::parse(r.body(), ec);
    BOOST_REQUIRE_MESSAGE(!ec && v.is_object(), "not a JSON object: " << r.body());
    return v.get_object();
}

void check_error(const response& r, unsigned status, std::string_view code, std::string_view desc_part)
{
    BOOST_TEST(r.result_int() == status, "status " << r.result_int() << " != " << status << ": " << r.body());
    auto o = body_of(r);
    auto* e = o.if_contains("error");
    BOOST_REQUIRE(e && e->is_object());
    BOOST_TEST(json::value_to<std::string>(e->at("code")) == code);
    auto d = json::value_to<std::string>(e->at("description"));
    BOOST_TEST(d.find(desc_part) != std::string::npos, "description '" << d << "' lacks '" << desc_part << "'");
}

std::string text_msg(const std::string& text, const std::string& role)
{
    json::object o{{"role", role}, {"type", "text"}, {"text", text}};
    return json::serialize(o);
}

json::object post(client& c, const std::string& app, const std::string& user, const std::string& text,
                  const std::string& role)
{
    auto r = c.request(http::verb::post, msgs_path(app, user), text_msg(text, role));
    BOOST_REQUIRE_MESSAGE(r.result_int() == 201, r.body());
    return body_of(r);
}

std::string target_of(const json::value& url, const std::string& base)
{
    auto s = json::value_to<std::string>(url);
    BOOST_REQUIRE_MESSAGE(s.rfind(base, 0) == 0, s << " does not start with " << base);
    return s.substr(base.size());
}

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

std::string raw_post(const std::string& path, const std::string& body)
{
    return "POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic_std("acct", "acct-secret") +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string raw_get(const std::string& target)
{
    return "GET " + target + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic_std("acct", "acct-secret") + "\r\n\r\n";
}

std::unique_ptr<client> connect_when_served(unsigned short port, std::chrono::steady_clock::duration limit)
{
    auto until = std::chrono::steady_clock::now() + limit;
    asio::io_context tio;
    for (int i = 0; i < 10'000 && std::chrono::steady_clock::now() < until; ++i) {
        auto c = std::make_unique<client>(client::deferred, port);
        // Connected is not served: beyond max_connections the server completes the handshake and answers 503.
        // A probe (an unknown path: 404 when served, recorded as route "unknown") tells them apart.
        if (!c->try_connect() && !c->send(http::verb::get, "/_probe", {}, "", true)) {
            response r;
            if (!c->read(r) && r.result_int() == 404u) return c;
        }
        asio::steady_timer t(tio, 20ms);
        t.wait();
    }
    return nullptr;
}

bool is_hex24(std::string_view s)
{
    return s.size() == 24 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace mock_test

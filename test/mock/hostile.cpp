// SPDX-License-Identifier: BSL-1.0
// smooch-mock over the wire against hostile clients: odd ids, garbage, slowloris, oversized and chunked bodies,
// clients that never read, pipelining, connection limits, bad parameters.

#include "wire.hpp"

#include <array>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace mock_test;

BOOST_AUTO_TEST_SUITE(hostile)

BOOST_AUTO_TEST_CASE(hostile_ids_round_trip, *boost::unit_test::timeout(guard))
{
    server_fixture f;
    client c(f.srv->port());
    std::vector<std::string> ids = {"a b",
                                    "a/b",
                                    "q?x=1",
                                    "h#f",
                                    "100%",
                                    "cr\r\nlf",
                                    "caf\xc3\xa9",
                                    "\xff\xfe",
                                    "+plus",
                                    "steveb@channel5.com",
                                    std::string("nul\0byte", 8)};
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
        BOOST_REQUIRE(!c.write_raw(
            "POST /v1.1/apps/a/appusers/u/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"));
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
        BOOST_REQUIRE(
            !c.write_raw("POST /v1.1/apps/a/appusers/u/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"));
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

// Beyond max_connections a connection is refused the way an HTTP server says so (server_params::max_connections):
// TLS handshake, the request read, 503 service_unavailable with Retry-After: 1 and Connection: close. Beyond twice
// as many, a new connection is reset at once (before any TLS byte). Refused requests are not recorded.
BOOST_AUTO_TEST_CASE(max_connections, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.max_connections = 2;
    server_fixture f(p);
    client a(f.srv->port()), b(f.srv->port());
    BOOST_TEST(a.request(http::verb::get, "/x").result_int() == 404u);
    BOOST_TEST(b.request(http::verb::get, "/x").result_int() == 404u);
    client c(f.srv->port());  // the handshake succeeds
    auto r = c.request(http::verb::post, msgs_path("app1", "u"), text_msg("refused"));
    check_error(r, 503, "service_unavailable", "Too many connections: smooch-mock serves at most 2 at once");
    BOOST_TEST(r[http::field::retry_after] == "1");
    BOOST_TEST(!r.keep_alive());
    auto ec = c.wait_closed();
    BOOST_TEST((ec && ec != asio::error::timed_out), ec.message());

    // Two more held in their handshake (refused, not served), then the fifth is reset.
    asio::io_context cio;
    auto raw = [&] {
        auto s = std::make_unique<tcp::socket>(cio);
        s->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), f.srv->port()));
        return s;
    };
    auto h1 = raw(), h2 = raw();
    // The server accepts in order: h1 and h2 fill the refused half, so the fifth is reset.
    auto s5 = raw();
    std::array<char, 16> buf;
    error_code rec_ec;
    bool done = false;
    s5->async_read_some(asio::buffer(buf), [&](error_code e, std::size_t) {
        rec_ec = e;
        done = true;
    });
    cio.run_for(io_timeout);
    BOOST_TEST(done);
    BOOST_TEST((rec_ec == asio::error::connection_reset || rec_ec == asio::error::eof), rec_ec.message());
    auto rec = f.srv->record();
    BOOST_TEST(rec.requests_total == 2u);  // a's and b's; the refused request never reached the engine
    BOOST_TEST(!rec.find("app1", "u"));
    // The refused ones and a served one closed: the next connection is served again.
    h1->close();
    h2->close();
    a.stream.reset();
    auto fresh = connect_when_served(f.srv->port());
    BOOST_TEST_REQUIRE(!!fresh);
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
    BOOST_TEST(rec.requests_total == 1u);                           // the rejected ones never reached the engine
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
    std::string wire = raw_post(path, text_msg("first")) + "POST " + path +
                       " HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic_std("acct", "acct-secret") +
                       "\r\nTransfer-Encoding: chunked\r\n\r\n" + size + "\r\n" + second.substr(0, second.size() - 5) +
                       "\r\n5\r\n" + second.substr(second.size() - 5) + "\r\n0\r\n\r\n" + raw_get(path) +
                       raw_get(msgs_path("app1", "nobody")) +
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
    auto rec = f.srv->record();
    BOOST_TEST(rec.requests_total == 3u);  // connect_when_served's probes; no dripped request ever got through
    BOOST_TEST(rec.routed["unknown"] == 3u);
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
    for (auto field :
         {&mock::server_params::idle_timeout, &mock::server_params::header_timeout, &mock::server_params::body_timeout,
          &mock::server_params::write_timeout, &mock::server_params::handshake_timeout}) {
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

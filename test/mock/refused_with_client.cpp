// SPDX-License-Identifier: BSL-1.0
// What the client library reports when smooch-mock refuses a connection beyond max_connections. The one test of
// test/mock that uses our client (the others use raw Beast clients): what a real client sees is the point.
// Refused means 503 service_unavailable with Retry-After: 1 and Connection: close, after the TLS handshake, so the
// client sees an HTTP refusal (retried after Retry-After, as a 429), not a TLS handshake failure.

#define BOOST_TEST_MODULE smooch_mock_refused_with_client
#include "wire.hpp"

#include <smooch/client.hpp>
#include <smooch/conversation_api.hpp>
#include <smooch/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

using namespace mock_test;

namespace {

struct call_result {
    smooch::error_code ec;
    smooch::diagnostics diag;
    std::chrono::steady_clock::duration took{};
};

/// One post_message through our client, total timeout `total`, on an io_context of its own.
call_result post_once(unsigned short port, std::chrono::milliseconds total)
{
    asio::io_context io;
    smooch::client_params cp;
    cp.base_url = "https://localhost:" + std::to_string(port);
    cp.credentials = smooch::basic_auth{"acct", "acct-secret"};
    cp.tls.ca_pem = shared_tls().ca_pem;
    smooch::client client(io.get_executor(), cp);
    smooch::conversation_api api(client);
    call_result out;
    const auto t0 = std::chrono::steady_clock::now();
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            smooch::message_post m;
            m.role = smooch::role::app_maker;
            m.type = smooch::message_type::text;
            m.text = "hi";
            smooch::call_options opts;
            opts.total_timeout = total;
            auto [ec, r] =
                co_await api.async_post_message("app1", "u", m, out.diag, opts, asio::as_tuple(asio::use_awaitable));
            out.ec = ec;
        },
        [&](std::exception_ptr) { io.stop(); });
    io.run_for(total + 10s);
    out.took = std::chrono::steady_clock::now() - t0;
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_refused_connection_is_a_503_refusal_to_the_client, *boost::unit_test::timeout(guard))
{
    auto p = server_fixture::default_params();
    p.max_connections = 1;
    server_fixture f(p);
    client holder(f.srv->port());  // takes the only slot and keeps it (keep-alive)
    BOOST_TEST(holder.request(http::verb::get, "/x").result_int() == 404u);

    auto r = post_once(f.srv->port(), 2500ms);
    BOOST_TEST_MESSAGE("client: " << smooch::describe(r.ec, r.diag));
    BOOST_TEST(!!r.ec);
    BOOST_TEST(r.diag.status == 503u);  // an HTTP answer, not a handshake failure
    BOOST_TEST(r.diag.api_code == "service_unavailable");
    BOOST_TEST(r.diag.api_description.find("Too many connections") != std::string::npos, r.diag.api_description);
    BOOST_TEST((r.diag.retry_after == std::chrono::milliseconds(1000)));
    BOOST_TEST(!r.diag.outcome_unknown);       // a refusal: nothing was applied, and the client knows it
    BOOST_TEST(r.diag.attempts.size() >= 2u);  // waited Retry-After and tried again, within the deadline
    BOOST_TEST((r.ec == smooch::client_errc::rate_limited || r.ec == smooch::client_errc::deadline_exceeded),
               r.ec.message());
    BOOST_TEST((r.took < 8s));
    BOOST_TEST(!f.srv->record().find("app1", "u"));

    // Once the slot is free the same call succeeds.
    holder.stream.reset();
    std::optional<call_result> ok;
    for (int i = 0; i < 50; ++i) {  // bounded: the server notices the close asynchronously
        ok = post_once(f.srv->port(), 3000ms);
        if (!ok->ec) break;
    }
    BOOST_TEST(!ok->ec, smooch::describe(ok->ec, ok->diag));
    BOOST_TEST(f.srv->record().find("app1", "u")->messages.size() == 1u);
}

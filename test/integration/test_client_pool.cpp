// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE client_pool
#include <boost/test/unit_test.hpp>

#include "fixture.hpp"
#include "scripted_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <future>
#include <optional>
#include <set>
#include <thread>
#include <unistd.h>

using namespace smooch;
using namespace smooch::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

/// Spawns n post_message calls at once and waits for all; returns the failures.
asio::awaitable<std::size_t> fan_out(client& c, std::string app, std::string user, int n, std::size_t& max_open)
{
    auto ex = co_await asio::this_coro::executor;
    std::size_t failures = 0;
    int remaining = n;
    asio::steady_timer done(ex, asio::steady_timer::time_point::max());
    for (int i = 0; i < n; ++i) {
        asio::co_spawn(
            ex,
            [&, i]() -> asio::awaitable<void> {
                auto o =
                    co_await try_post_message(conversation_api{c}, app, user, text_message("m" + std::to_string(i)));
                if (o.ec) ++failures;
                max_open = std::max(max_open, c.open_connections());
                if (--remaining == 0) done.cancel();
            },
            asio::detached);
    }
    co_await done.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return failures;
}

/// Waits until `ready()` holds, checking every millisecond: a wait on a condition, bounded by `limit`.
asio::awaitable<bool> until(std::function<bool()> ready, std::chrono::milliseconds limit = 10s)
{
    asio::steady_timer t(co_await asio::this_coro::executor);
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!ready()) {
        if (std::chrono::steady_clock::now() > end) co_return false;
        t.expires_after(1ms);
        co_await t.async_wait(asio::use_awaitable);
    }
    co_return true;
}

std::set<std::string> texts_of(const mock::record& rec, std::string_view app, std::string_view user)
{
    auto* conv = rec.find(app, user);
    if (!conv) return {};
    auto t = conv->texts();
    return {t.begin(), t.end()};
}

}  // namespace

BOOST_AUTO_TEST_CASE(thousand_concurrent_posts_through_eight_connections)
{
    mock_env env;
    auto c = env.make_client([](client_params& p) { p.pool.max_connections = 8; });
    std::size_t failures = 0, max_open = 0;
    env.run([&]() -> asio::awaitable<void> { failures = co_await fan_out(*c, "app_1", "fan", 1000, max_open); });
    BOOST_TEST(failures == 0u);
    BOOST_TEST(max_open <= 8u);
    BOOST_TEST(c->counters().connections_opened <= 8u);
    BOOST_TEST(c->counters().pool_waits > 0u);
    auto rec = env.server->record();
    auto* conv = rec.find("app_1", "fan");
    BOOST_REQUIRE(conv);
    BOOST_TEST(conv->created_ids.size() == 1000u);              // nothing duplicated
    BOOST_TEST(texts_of(rec, "app_1", "fan").size() == 1000u);  // nothing lost
}

BOOST_AUTO_TEST_CASE(server_closing_kept_alive_connections_is_survived_without_duplicates)
{
    mock_env env;
    env.mock_params.close_after_requests = 1;  // every connection is closed silently after one response
    auto c = env.make_client([](client_params& p) { p.pool.max_connections = 2; });
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        for (int i = 0; i < 30; ++i) {
            co_await api.post_message("app_1", "stale", text_message("s" + std::to_string(i)));
            co_await api.get_messages("app_1", "stale");
        }
    });
    auto rec = env.server->record();
    BOOST_TEST(rec.find("app_1", "stale")->created_ids.size() == 30u);
    BOOST_TEST(texts_of(rec, "app_1", "stale").size() == 30u);
    BOOST_TEST(c->counters().connections_discarded >= 59u);  // each closed connection was noticed and dropped
}

BOOST_AUTO_TEST_CASE(close_after_n_requests_with_concurrency)
{
    mock_env env;
    env.mock_params.close_after_requests = 3;
    auto c = env.make_client([](client_params& p) { p.pool.max_connections = 4; });
    std::size_t failures = 0, max_open = 0;
    env.run([&]() -> asio::awaitable<void> { failures = co_await fan_out(*c, "app_1", "n3", 200, max_open); });
    BOOST_TEST(failures == 0u);
    BOOST_TEST(env.server->record().find("app_1", "n3")->created_ids.size() == 200u);
    BOOST_TEST(max_open <= 4u);
}

BOOST_AUTO_TEST_CASE(cancellation_mid_request_ends_promptly_and_keeps_the_pool_sound)
{
    mock_env env;
    auto c = env.make_client([](client_params& p) { p.pool.max_connections = 2; });
    env.start();
    mock::fault_rule slow;
    slow.route = "get_messages";
    slow.delay = 5s;
    slow.count = 1;
    env.server->add_fault(slow);
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        co_await api.post_message("app_1", "cancel", text_message("x"));
        asio::steady_timer timer(co_await asio::this_coro::executor, 100ms);
        auto start = std::chrono::steady_clock::now();
        auto res = co_await (try_get_messages(api, "app_1", "cancel") || timer.async_wait(asio::use_awaitable));
        auto took = std::chrono::steady_clock::now() - start;
        BOOST_TEST(res.index() == 1u);  // the timer won
        BOOST_TEST((took < 2s));
        BOOST_TEST(c->open_connections() <= 1u);  // the cancelled connection was closed, not pooled
        // bind_cancellation_slot works too.
        asio::cancellation_signal sig;
        mock::fault_rule slow2 = slow;
        env.server->add_fault(slow2);
        std::promise<bool> cancelled;
        const auto attempts_before = c->counters().attempts;
        asio::co_spawn(
            co_await asio::this_coro::executor, try_get_messages(api, "app_1", "cancel"),
            asio::bind_cancellation_slot(sig.slot(), [&](std::exception_ptr e, outcome<get_messages_response> o) {
                cancelled.set_value(e != nullptr || o.ec == asio::error::operation_aborted);
            }));
        // Cancel once the request is on the wire (the mock holds it for 5 s).
        BOOST_TEST(co_await until([&] { return c->counters().attempts > attempts_before; }));
        sig.emit(asio::cancellation_type::terminal);
        // The pool is usable and within its cap afterwards.
        for (int i = 0; i < 5; ++i) co_await api.post_message("app_1", "cancel", text_message("after"));
        BOOST_TEST(c->open_connections() <= 2u);
        BOOST_TEST(cancelled.get_future().get());
    });
    BOOST_TEST(c->counters().connections_discarded >= 2u);
}

BOOST_AUTO_TEST_CASE(overall_deadline_expires_during_a_slow_response)
{
    mock_env env;
    env.mock_params.faults.push_back(mock::parse_fault("delay=5000,count=1,route=get_messages"));
    auto c = env.make_client();
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        co_await api.post_message("app_1", "dl", text_message("x"));
        auto start = std::chrono::steady_clock::now();
        const call_options short_deadline{.total_timeout = 200ms};
        const get_messages_query latest;
        auto o = co_await try_get_messages(api, "app_1", "dl", latest, short_deadline);
        auto took = std::chrono::steady_clock::now() - start;
        BOOST_TEST((o.ec == client_errc::deadline_exceeded));
        BOOST_TEST((o.diag.stop_reason == stop_reason::deadline));
        BOOST_TEST((took >= 200ms));
        BOOST_TEST((took < 1500ms));
        co_await api.get_messages("app_1", "dl");  // usable afterwards
    });
}

BOOST_AUTO_TEST_CASE(pool_wait_counts_against_the_deadline_and_the_queue_is_bounded)
{
    mock_env env;
    env.mock_params.faults.push_back(mock::parse_fault("delay=1000,count=1,route=get_messages"));
    auto c = env.make_client([](client_params& p) {
        p.pool.max_connections = 1;
        p.pool.max_waiters = 1;
    });
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        co_await api.post_message("app_1", "w", text_message("x"));
        auto ex = co_await asio::this_coro::executor;
        std::optional<error_code> slow_result;
        const auto attempts_before = c->counters().attempts;
        asio::co_spawn(ex, try_get_messages(api, "app_1", "w"),
                       [&](std::exception_ptr, outcome<get_messages_response> o) { slow_result = o.ec; });
        // The slow call holds the only connection once its request is sent.
        BOOST_TEST(co_await until([&] { return c->counters().attempts > attempts_before; }));
        const call_options short_deadline{.total_timeout = 100ms};
        const get_messages_query latest;
        auto [waiting, rejected] = co_await (try_get_messages(api, "app_1", "w", latest, short_deadline) &&
                                             try_get_messages(api, "app_1", "w", latest, short_deadline));
        // One of the two queued (then timed out waiting), the other found the queue full.
        std::set<error_code> codes{waiting.ec, rejected.ec};
        BOOST_TEST(codes.count(client_errc::deadline_exceeded) == 1u);
        BOOST_TEST(codes.count(client_errc::pool_queue_full) == 1u);
        auto& timed_out = waiting.ec == client_errc::deadline_exceeded ? waiting : rejected;
        BOOST_TEST(timed_out.diag.message.find("pooled connection") != std::string::npos);
        BOOST_TEST(co_await until([&] { return slow_result.has_value(); }));
        BOOST_TEST(!slow_result.value_or(client_errc::client_stopped));
    });
}

BOOST_AUTO_TEST_CASE(tls_sessions_are_resumed_on_new_connections)
{
    mock_env env;
    env.mock_params.close_after_requests = 1;  // forces a new connection (and handshake) per request
    auto c = env.make_client([](client_params& p) { p.pool.max_connections = 1; });
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        for (int i = 0; i < 5; ++i) co_await api.post_message("app_1", "tls", text_message("t" + std::to_string(i)));
    });
    auto k = c->counters();
    BOOST_TEST(k.connections_opened >= 5u);
    BOOST_TEST(k.tls_resumed >= 3u);  // every handshake after the first can resume
}

BOOST_AUTO_TEST_CASE(bad_base_urls_and_credentials_are_refused_up_front)
{
    asio::io_context io;
    auto make = [&](std::function<void(client_params&)> tweak) {
        client_params p;
        p.credentials = basic_auth{"k", "s"};
        tweak(p);
        client c(io.get_executor(), p);
    };
    BOOST_CHECK_THROW(make([](client_params& p) { p.base_url = "http://api.smooch.io"; }), smooch::error);
    BOOST_CHECK_THROW(make([](client_params& p) { p.base_url = "not a url"; }), smooch::error);
    BOOST_CHECK_THROW(make([](client_params& p) { p.credentials = jwt_credentials{.key_id = "", .secret = "s"}; }),
                      smooch::error);
    try {
        make([](client_params& p) { p.base_url = "https://user:hunter2@api.smooch.io"; });
        BOOST_FAIL("accepted credentials in the URL");
    } catch (const smooch::error& e) {
        BOOST_TEST((e.code() == client_errc::invalid_url));
        BOOST_TEST(std::string(e.what()).find("hunter2") == std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(cancelling_a_call_queued_for_a_connection_is_a_cancellation_not_a_retry)
{
    mock_env env;
    env.mock_params.faults.push_back(mock::parse_fault("delay=1000,count=1,route=get_messages"));
    auto c = env.make_client([](client_params& p) { p.pool.max_connections = 1; });
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        co_await api.post_message("app_1", "q", text_message("first"));
        auto ex = co_await asio::this_coro::executor;
        std::optional<error_code> slow_result;
        const auto before = c->counters();
        asio::co_spawn(ex, try_get_messages(api, "app_1", "q"),
                       [&](std::exception_ptr, outcome<get_messages_response> o) { slow_result = o.ec; });
        BOOST_TEST(co_await until([&] { return c->counters().attempts > before.attempts; }));

        // A post queues behind it; cancel it while it waits.
        asio::cancellation_signal sig;
        std::optional<outcome<message_response>> queued;
        asio::co_spawn(ex, try_post_message(api, "app_1", "q", text_message("cancelled while queued")),
                       asio::bind_cancellation_slot(sig.slot(), [&](std::exception_ptr, outcome<message_response> o) {
                           queued = std::move(o);
                       }));
        BOOST_TEST(co_await until([&] { return c->counters().pool_waits > before.pool_waits; }));
        sig.emit(asio::cancellation_type::terminal);
        BOOST_TEST(co_await until([&] { return queued.has_value(); }));
        BOOST_TEST((queued->ec == asio::error::operation_aborted), queued->ec.message());
        BOOST_TEST((queued->diag.stop_reason == stop_reason::cancelled));
        BOOST_TEST(!queued->diag.outcome_unknown);  // nothing was sent
        const auto after = c->counters();
        BOOST_TEST(after.retries_connect == before.retries_connect);
        BOOST_TEST(after.attempts == before.attempts + 1);  // only the slow call's

        BOOST_TEST(co_await until([&] { return slow_result.has_value(); }));
        BOOST_TEST(!slow_result.value_or(client_errc::client_stopped));
        co_await api.post_message("app_1", "q", text_message("second"));
        BOOST_TEST(c->open_connections() <= 1u);
    });
    BOOST_TEST((texts_of(env.server->record(), "app_1", "q") == std::set<std::string>{"first", "second"}));
}

BOOST_AUTO_TEST_CASE(unusable_ca_settings_are_refused_up_front)
{
    asio::io_context io;
    auto refuse = [&](std::function<void(client_params&)> tweak, std::string_view mention) {
        client_params p;
        p.base_url = "https://127.0.0.1:1";
        p.credentials = basic_auth{"k", "s"};
        tweak(p);
        try {
            client c(io.get_executor(), p);
            BOOST_ERROR("accepted unusable TLS settings");
        } catch (const smooch::error& e) {
            BOOST_TEST((e.code() == client_errc::invalid_configuration), e.code().message());
            BOOST_TEST(std::string(e.what()).find(mention) != std::string::npos, e.what());
        }
    };
    refuse([](client_params& p) { p.tls.ca_file = "/nonexistent/ca.pem"; }, "/nonexistent/ca.pem");
    refuse(
        [](client_params& p) { p.tls.ca_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"; },
        "tls.ca_pem");
}

// tls_params::ca_pem adds a CA to the system trust store, it does not replace it: a user adding a corporate
// CA this way must still reach the real API. OpenSSL's default store is taken from SSL_CERT_FILE when set, so
// the test makes a "system store" of its own.
BOOST_AUTO_TEST_CASE(ca_pem_adds_to_the_system_trust_store)
{
    const auto system_ca = mock::generate_tls();  // what the "system" trusts
    const auto extra_ca = mock::generate_tls();   // what ca_pem adds
    const std::string store =
        (std::filesystem::temp_directory_path() / ("smooch-system-store-" + std::to_string(::getpid()) + ".pem"))
            .string();
    {
        std::ofstream f(store);
        f << system_ca.ca_pem;
    }
    const char* old = std::getenv("SSL_CERT_FILE");
    const std::string saved = old ? old : "";
    ::setenv("SSL_CERT_FILE", store.c_str(), 1);
    asio::io_context io;
    auto serve = [&](const mock::tls_material& tls) {
        mock::server_params mp;
        mp.tls = tls;
        auto srv = std::make_unique<mock::server>(io.get_executor(), mp);
        srv->start();
        return srv;
    };
    auto by_system = serve(system_ca);
    auto by_extra = serve(extra_ca);
    auto status_of = [&](const mock::server& srv) {
        client_params p;
        p.base_url = srv.base_url();
        p.credentials = basic_auth{"k", "s"};
        p.tls.ca_pem = extra_ca.ca_pem;
        client c(io.get_executor(), p);
        std::optional<error_code> result;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                auto o = co_await try_delete_messages(conversation_api{c}, "app", "u");
                result = o.ec;
                io.stop();  // the servers would keep run_for busy until its bound
            },
            asio::detached);
        io.restart();
        io.run_for(20s);
        BOOST_TEST_REQUIRE(result.has_value());
        return *result;
    };
    const auto via_system = status_of(*by_system);
    const auto via_extra = status_of(*by_extra);
    if (old) ::setenv("SSL_CERT_FILE", saved.c_str(), 1);
    else ::unsetenv("SSL_CERT_FILE");
    std::filesystem::remove(store);
    // No keys configured: the mock answers 404 (no conversation), which means TLS verification passed.
    BOOST_TEST((via_extra == make_http_error(404)), via_extra.message());
    BOOST_TEST((via_system == make_http_error(404)), via_system.message());  // before: certificate verify failed
}

namespace {

// A TLS server that sends each response, then `stray` as a TLS record of its own, in the same TCP write: the
// client receives both records at once, so the stray one sits in the client's buffers, where no peek at the
// socket can see it. OpenSSL with memory BIOs, so the two records leave in one write.
struct two_record_tls_server {
    asio::ip::tcp::acceptor acceptor;
    asio::ssl::context ctx{asio::ssl::context::tls_server};
    std::string response, stray;
    int connections = 0;

    two_record_tls_server(asio::any_io_executor ex, const mock::tls_material& m, std::string r, std::string s)
        : acceptor(ex, {asio::ip::make_address("127.0.0.1"), 0}), response(std::move(r)), stray(std::move(s))
    {
        ctx.use_certificate_chain(asio::buffer(m.cert_pem));
        ctx.use_private_key(asio::buffer(m.key_pem), asio::ssl::context::pem);
    }
    std::string url() const { return "https://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()); }

    asio::awaitable<void> serve()
    {
        for (int accepted = 0; accepted < 16; ++accepted) {  // bounded
            auto [ec, sock] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            ++connections;
            asio::co_spawn(acceptor.get_executor(), session(std::move(sock)), asio::detached);
        }
    }

    asio::awaitable<void> session(asio::ip::tcp::socket s)
    {
        std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.native_handle()), &SSL_free);
        BIO* in = BIO_new(BIO_s_mem());
        BIO* out = BIO_new(BIO_s_mem());
        SSL_set_bio(ssl.get(), in, out);
        SSL_set_accept_state(ssl.get());
        std::string plain;
        char buf[17 * 1024];
        for (int round = 0; round < 200; ++round) {  // bounded: a handshake and a few requests
            auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
            if (ec) break;
            BIO_write(in, buf, static_cast<int>(n));
            if (!SSL_is_init_finished(ssl.get())) SSL_do_handshake(ssl.get());
            for (int k; SSL_is_init_finished(ssl.get()) && (k = SSL_read(ssl.get(), buf, sizeof buf)) > 0;)
                plain.append(buf, static_cast<std::size_t>(k));
            for (auto end = plain.find("\r\n\r\n"); end != std::string::npos; end = plain.find("\r\n\r\n")) {
                plain.erase(0, end + 4);  // requests without a body
                SSL_write(ssl.get(), response.data(), static_cast<int>(response.size()));
                SSL_write(ssl.get(), stray.data(), static_cast<int>(stray.size()));
            }
            std::string wire(static_cast<std::size_t>(BIO_ctrl_pending(out)), '\0');
            if (!wire.empty()) BIO_read(out, wire.data(), static_cast<int>(wire.size()));
            ERR_clear_error();
            if (wire.empty()) continue;
            auto [wec, w] = co_await asio::async_write(s, asio::buffer(wire), asio::as_tuple(asio::use_awaitable));
            if (wec) break;
        }
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_tls_record_after_a_response_retires_the_connection)
{
    asio::io_context io;
    two_record_tls_server srv(io.get_executor(), shared_tls(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
                              "HTTP/1.1 200 OK\r\n");
    client_params p;
    p.base_url = srv.url();
    p.credentials = basic_auth{"k", "s"};
    p.tls.ca_pem = shared_tls().ca_pem;
    client c(io.get_executor(), p);
    asio::co_spawn(io, srv.serve(), asio::detached);
    std::optional<std::pair<outcome<done>, outcome<done>>> results;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            conversation_api api{c};
            auto a = co_await try_delete_messages(api, "app", "u");
            auto b = co_await try_delete_messages(api, "app", "u");
            results.emplace(std::move(a), std::move(b));
            srv.acceptor.close();
        },
        [&](std::exception_ptr) { io.stop(); });
    io.run_for(30s);  // bounded; ends when both calls are done
    BOOST_REQUIRE(results.has_value());
    BOOST_TEST(!results->first.ec, describe(results->first.ec, results->first.diag));
    BOOST_TEST(!results->second.ec, describe(results->second.ec, results->second.diag));
    BOOST_TEST(results->second.diag.attempts.size() == 1u);  // no failed attempt on the stray record first
    BOOST_TEST(srv.connections == 2);  // the second call did not read the stray record as its answer
    BOOST_TEST(c.counters().connections_discarded >= 1u);
}

BOOST_AUTO_TEST_CASE(bytes_after_a_response_retire_the_connection)
{
    // A server that appends bytes nobody asked for has lost its framing: the next response on that connection
    // could be those bytes. The client must not reuse it.
    asio::io_context io;
    smooch::test::scripted_server srv(io.get_executor(),
                                      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n");
    client_params p;
    p.base_url = srv.url();
    p.credentials = basic_auth{"k", "s"};
    client c(io.get_executor(), p);
    asio::co_spawn(io, srv.serve(), asio::detached);
    std::optional<std::pair<error_code, error_code>> results;
    std::size_t second_attempts = 0;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            conversation_api api{c};
            auto a = co_await try_delete_messages(api, "app", "u");
            auto b = co_await try_delete_messages(api, "app", "u");
            second_attempts = b.diag.attempts.size();
            results.emplace(a.ec, b.ec);
            srv.acceptor.close();
        },
        [&](std::exception_ptr) { io.stop(); });
    asio::steady_timer guard(io, 30s);
    guard.async_wait([&](error_code ec) {
        if (!ec) io.stop();
    });
    io.run_for(30s);
    BOOST_REQUIRE(results.has_value());
    BOOST_TEST(!results->first, results->first.message());
    BOOST_TEST(!results->second, results->second.message());
    BOOST_TEST(second_attempts == 1u);  // no failed attempt on the stray bytes first
    BOOST_TEST(srv.connections == 2);   // the second call did not read the stray bytes as its answer
    BOOST_TEST(c.counters().connections_discarded >= 1u);
}

BOOST_AUTO_TEST_CASE(host_names_are_resolved_cached_and_verified)
{
    // A host name (not an IP literal) goes through the resolver: the lookup is awaited with the connect
    // timeout, its answer is cached, and TLS verifies the certificate against the name.
    mock_env env;
    auto c = env.make_client([&](client_params& p) {
        p.base_url = "https://localhost:" + std::to_string(env.server->port());
        p.pool.max_connections = 2;
    });
    env.run([&]() -> asio::awaitable<void> {
        conversation_api api{*c};
        // Two connections in parallel: the second connect uses the cached answer or resolves again; both work.
        auto [a, b] = co_await (try_post_message(api, "app_1", "dns", text_message("one")) &&
                                try_post_message(api, "app_1", "dns", text_message("two")));
        BOOST_TEST(!a.ec, describe(a.ec, a.diag));
        BOOST_TEST(!b.ec, describe(b.ec, b.diag));
        auto g = co_await api.get_messages("app_1", "dns");
        BOOST_TEST(g.messages.value_or(std::vector<message>{}).size() == 2u);
    });
    BOOST_TEST(c->counters().connections_opened == 2u);
    BOOST_TEST((texts_of(env.server->record(), "app_1", "dns") == std::set<std::string>{"one", "two"}));
}

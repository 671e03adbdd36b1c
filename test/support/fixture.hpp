#pragma once
// Runs a client test coroutine against an in-process smooch-mock over TLS on loopback.
// Deterministic: the OS picks the port, nothing sleeps, and a guard timer bounds every test.

#include <smooch/client.hpp>
#include <smooch/conversation_api.hpp>
#include <smooch/mock/server.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <exception>
#include <functional>
#include <memory>

namespace smooch::test {

namespace asio = boost::asio;

inline const mock::tls_material& shared_tls()
{
    static const mock::tls_material tls = mock::generate_tls();  // one CA per test process: generation is slow-ish
    return tls;
}

struct mock_env {
    asio::io_context io;
    mock::server_params mock_params;
    std::unique_ptr<mock::server> server;
    client_params params;

    mock_env()
    {
        mock_params.tls = shared_tls();
        mock_params.keys.push_back({"app_key", "app_secret", "app_1"});
        mock_params.keys.push_back({"act_key", "act_secret", std::nullopt});
        params.credentials = basic_auth{"act_key", "act_secret"};
        params.tls.ca_pem = shared_tls().ca_pem;
    }

    /// Starts the mock (if not started) and returns a client for it.
    std::unique_ptr<client> make_client(std::function<void(client_params&)> tweak = {})
    {
        start();
        client_params p = params;
        p.base_url = server->base_url();
        if (tweak) tweak(p);
        return std::make_unique<client>(io.get_executor(), p);
    }

    void start()
    {
        if (server) return;
        server = std::make_unique<mock::server>(io.get_executor(), mock_params);
        server->start();
    }

    /// Runs `body` to completion on io (bounded by `guard`), rethrowing its exception.
    void run(std::function<asio::awaitable<void>()> body, std::chrono::seconds guard = std::chrono::seconds(60))
    {
        start();
        std::exception_ptr failure;
        bool finished = false;
        asio::steady_timer guard_timer(io, guard);
        guard_timer.async_wait([&](boost::system::error_code ec) {
            if (!ec) io.stop();
        });
        asio::co_spawn(io, body(), [&](std::exception_ptr e) {
            failure = e;
            finished = true;
            guard_timer.cancel();
            io.stop();
        });
        io.restart();
        io.run();
        BOOST_REQUIRE_MESSAGE(finished, "test body did not finish before the guard timer");
        if (failure) std::rethrow_exception(failure);
    }
};

inline message_post text_message(std::string text)
{
    message_post m;
    m.role = role::app_maker;
    m.type = message_type::text;
    m.text = std::move(text);
    return m;
}

} // namespace smooch::test

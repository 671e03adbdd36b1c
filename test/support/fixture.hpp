// SPDX-License-Identifier: BSL-1.0
#pragma once
// Runs a client test coroutine against an in-process smooch-mock over TLS on loopback.
// Deterministic: the OS picks the port, nothing sleeps, and a guard timer bounds every test.

#include <smooch/client.hpp>
#include <smooch/conversation_api.hpp>
#include <smooch/mock/server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <thread>
#include <optional>
#include <string>

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

/// smooch-mock on its own single-threaded io_context and thread.
struct threaded_mock {
    asio::io_context io;
    std::unique_ptr<mock::server> srv;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    std::thread thread;

    explicit threaded_mock(mock::server_params mp)
    {
        mp.tls = shared_tls();
        mp.keys.push_back({"act_key", "act_secret", std::nullopt});
        srv = std::make_unique<mock::server>(io.get_executor(), mp);
        srv->start();
        thread = std::thread([this] { io.run(); });
    }
    ~threaded_mock()
    {
        srv->stop();
        work.reset();
        thread.join();
    }
    /// Params for a client of this mock (account key, its CA).
    client_params client_params_for() const
    {
        client_params p;
        p.base_url = srv->base_url();
        p.credentials = basic_auth{"act_key", "act_secret"};
        p.tls.ca_pem = shared_tls().ca_pem;
        return p;
    }
};

/// A call's result as the tests check it: the error, the diagnostics and the value, from the public async_X form
/// with a diagnostics& and as_tuple(use_awaitable) (the non-throwing shape a user writes).
template <class T>
struct outcome {
    error_code ec;
    diagnostics diag;
    std::optional<T> value;  ///< Set exactly when !ec.
    explicit operator bool() const noexcept { return !ec; }
    T& get()
    {
        throw_on_error(ec, diag);
        return *value;
    }
};

template <class T>
outcome<T> to_outcome(const error_code& ec, T value, diagnostics diag)
{
    outcome<T> o;
    o.ec = ec;
    o.diag = std::move(diag);
    if (!ec) o.value = std::move(value);
    return o;
}

inline asio::awaitable<outcome<activity_response>> try_conversation_activity(conversation_api api, std::string app,
                                                                             std::string user,
                                                                             conversation_activity body,
                                                                             call_options opts = {})
{
    diagnostics d;
    auto [ec, v] =
        co_await api.async_conversation_activity(app, user, body, d, opts, asio::as_tuple(asio::use_awaitable));
    co_return to_outcome(ec, std::move(v), std::move(d));
}
inline asio::awaitable<outcome<done>> try_delete_message(conversation_api api, std::string app, std::string user,
                                                         std::string message_id, call_options opts = {})
{
    diagnostics d;
    auto [ec, v] =
        co_await api.async_delete_message(app, user, message_id, d, opts, asio::as_tuple(asio::use_awaitable));
    co_return to_outcome(ec, std::move(v), std::move(d));
}
inline asio::awaitable<outcome<done>> try_delete_messages(conversation_api api, std::string app, std::string user,
                                                          call_options opts = {})
{
    diagnostics d;
    auto [ec, v] = co_await api.async_delete_messages(app, user, d, opts, asio::as_tuple(asio::use_awaitable));
    co_return to_outcome(ec, std::move(v), std::move(d));
}
inline asio::awaitable<outcome<get_messages_response>> try_get_messages(conversation_api api, std::string app,
                                                                        std::string user, get_messages_query q = {},
                                                                        call_options opts = {})
{
    diagnostics d;
    auto [ec, v] = co_await api.async_get_messages(app, user, q, d, opts, asio::as_tuple(asio::use_awaitable));
    co_return to_outcome(ec, std::move(v), std::move(d));
}
inline asio::awaitable<outcome<message_response>> try_post_message(conversation_api api, std::string app,
                                                                   std::string user, message_post body,
                                                                   call_options opts = {})
{
    diagnostics d;
    auto [ec, v] = co_await api.async_post_message(app, user, body, d, opts, asio::as_tuple(asio::use_awaitable));
    co_return to_outcome(ec, std::move(v), std::move(d));
}
inline asio::awaitable<outcome<done>> try_reset_unread_count(conversation_api api, std::string app, std::string user,
                                                             call_options opts = {})
{
    diagnostics d;
    auto [ec, v] = co_await api.async_reset_unread_count(app, user, d, opts, asio::as_tuple(asio::use_awaitable));
    co_return to_outcome(ec, std::move(v), std::move(d));
}

inline message_post text_message(std::string text)
{
    message_post m;
    m.role = role::app_maker;
    m.type = message_type::text;
    m.text = std::move(text);
    return m;
}

}  // namespace smooch::test

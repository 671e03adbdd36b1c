// SPDX-License-Identifier: BSL-1.0
// Every operation with every kind of completion token, from two io_contexts, one of which stops: what a server
// that embeds the client (callbacks, futures, deferred compositions, an io_context per thread) relies on.

#define BOOST_TEST_MODULE completion_tokens
#include <boost/test/unit_test.hpp>

#include "fixture.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include <future>
#include <mutex>
#include <set>
#include <thread>

using namespace smooch;
using namespace smooch::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

/// An io_context run by its own thread until stop().
struct running_context {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    std::thread thread{[this] { io.run(); }};
    void stop()
    {
        work.reset();
        io.stop();
        if (thread.joinable()) thread.join();
    }
    ~running_context() { stop(); }
};

/// The threads on which the client's attempts ran.
struct thread_recorder final : observer {
    std::mutex mu;
    std::set<std::thread::id> threads;
    void on_attempt(const attempt_event&) override
    {
        std::lock_guard lk(mu);
        threads.insert(std::this_thread::get_id());
    }
};

/// A message this test can recognise in the mock's record.
message_post note(const std::string& text) { return text_message(text); }

}  // namespace

BOOST_AUTO_TEST_CASE(every_operation_completes_with_every_token)
{
    threaded_mock m({});
    running_context home;  // the client's executor: where handlers without one of their own run
    auto seen = std::make_shared<thread_recorder>();
    auto params = m.client_params_for();
    params.observer = seen;
    client c(home.io.get_executor(), params);
    conversation_api api{c};
    const std::string app = "app_1";

    // use_future from this plain thread: its handler's executor is one of Asio's own threads, yet the call runs
    // on the client's io_context, the only thread the user started (before: on Asio's system threads).
    auto posted = api.async_post_message(app, "futures", note("one"), asio::use_future).get();
    BOOST_TEST_REQUIRE(posted.message.has_value());
    {
        std::lock_guard lk(seen->mu);
        BOOST_TEST((seen->threads == std::set<std::thread::id>{home.thread.get_id()}));
    }
    const std::string id = *posted.message->id;
    BOOST_TEST(api.async_get_messages(app, "futures", {}, asio::use_future).get().messages->size() == 1u);
    smooch::conversation_activity typing;
    typing.role = role::app_maker;
    typing.type = activity_type::typing_start;
    BOOST_TEST(
        api.async_conversation_activity(app, "futures", typing, asio::use_future).get().conversation.has_value());
    BOOST_TEST(api.async_reset_unread_count(app, "futures", asio::use_future).get().status == 200u);
    BOOST_TEST(api.async_walk_history(
                      app, "futures", walk_direction::oldest_first, [](const message&) {}, asio::use_future)
                   .get() == 1u);
    BOOST_TEST(api.async_delete_message(app, "futures", id, asio::use_future).get().status == 200u);
    BOOST_TEST(api.async_delete_messages(app, "futures", asio::use_future).get().status == 200u);

    // An error through use_future is a system_error carrying the code.
    try {
        api.async_delete_message(app, "futures", id, asio::use_future).get();
        BOOST_TEST_FAIL("deleting twice must fail");
    } catch (const boost::system::system_error& e) {
        BOOST_TEST((e.code() == make_http_error(404)));
    }

    // Plain callbacks, with diagnostics: on the client's executor.
    std::promise<std::pair<error_code, diagnostics>> got;
    diagnostics diag;
    api.async_delete_message(app, "futures", id, diag, [&](error_code ec, done) {
        BOOST_TEST(home.io.get_executor().running_in_this_thread());
        got.set_value({ec, diag});
    });
    auto [ec, d] = got.get_future().get();
    BOOST_TEST((ec == make_http_error(404)));
    BOOST_TEST(d.status == 404u);
    BOOST_TEST(d.operation == "delete_message");
    BOOST_TEST(!d.api_code.empty());

    // Coroutines on another io_context: use_awaitable, deferred (the default token), as_tuple, and the
    // throwing form; each completes on the caller's executor.
    asio::io_context mine;
    bool finished = false;
    asio::co_spawn(
        mine,
        [&]() -> asio::awaitable<void> {
            auto r = co_await api.async_post_message(app, "coro", note("two"), asio::use_awaitable);
            BOOST_TEST(mine.get_executor().running_in_this_thread());
            BOOST_TEST(r.message.has_value());
            auto page = co_await api.async_get_messages(app, "coro", {});  // deferred
            BOOST_TEST(page.messages->size() == 1u);
            diagnostics dd;
            auto [e2, gone] =
                co_await api.async_delete_message(app, "coro", "no-such-id", dd, asio::as_tuple(asio::use_awaitable));
            BOOST_TEST((e2 == make_http_error(404)));
            BOOST_TEST(dd.status == 404u);
            try {
                co_await api.delete_message(app, "coro", "no-such-id");
                BOOST_TEST_FAIL("expected smooch::error");
            } catch (const smooch::error& e) {
                BOOST_TEST(e.status() == 404u);
                BOOST_TEST(e.diagnostics().operation == "delete_message");
            }
            // Validation failures complete through the handler too (no exception from the initiating call).
            diagnostics bad;
            auto [e3, none] =
                co_await api.async_post_message("", "coro", note("x"), bad, asio::as_tuple(asio::use_awaitable));
            BOOST_TEST((e3 == client_errc::invalid_request));
            BOOST_TEST(bad.message == "app_id: must not be empty");
            finished = true;
        },
        [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
    mine.run();
    BOOST_TEST(finished);

    // bind_executor: a callback bound to `mine` runs there, not on the client's executor.
    mine.restart();
    bool bound_ran = false;
    api.async_get_messages(app, "coro", {}, asio::bind_executor(mine, [&](error_code e, get_messages_response) {
                               BOOST_TEST(!e);
                               BOOST_TEST(mine.get_executor().running_in_this_thread());
                               bound_ran = true;
                           }));
    mine.run();
    BOOST_TEST(bound_ran);

    // bind_cancellation_slot: a call cancelled before it starts completes with operation_aborted.
    mine.restart();
    asio::cancellation_signal cancel;
    error_code cancelled_with;
    api.async_get_messages(
        app, "coro", {}, asio::bind_cancellation_slot(cancel.slot(), asio::bind_executor(mine, [&](error_code e, auto) {
                                                          cancelled_with = e;
                                                      })));
    cancel.emit(asio::cancellation_type::terminal);
    mine.run();
    BOOST_TEST((cancelled_with == asio::error::operation_aborted));

    // A deferred operation composes before it is launched, and its arguments were copied when it was made.
    mine.restart();
    std::string user = "deferred";
    auto op = api.async_post_message(app, user, note("three"), asio::deferred);
    user = "changed";
    std::optional<message_response> out;
    std::move(op)(asio::bind_executor(mine, [&](error_code e, message_response r) {
        BOOST_TEST(!e);
        out = std::move(r);
    }));
    mine.run();
    BOOST_TEST_REQUIRE(out.has_value());
    auto rec = m.srv->record();
    BOOST_TEST(rec.find(app, "deferred") != nullptr);
    BOOST_TEST(rec.find(app, "changed") == nullptr);
}

// The scenario: a client made on io_a makes one call there, io_a stops; a call from io_b must not reuse
// io_a's idle connection, whose socket and deadline timer belong to the stopped context (Asio's rule; with
// Boost 1.81 on Linux the reuse happened to complete here, but its deadline could never have fired).
BOOST_AUTO_TEST_CASE(a_call_from_another_io_context_does_not_reuse_a_stopped_contexts_connection)
{
    threaded_mock m({});
    running_context a;
    client c(a.io.get_executor(), m.client_params_for());
    conversation_api api{c};
    api.async_post_message("app_1", "a", note("on a"), asio::use_future).get();  // runs on io_a
    BOOST_TEST(c.open_connections() == 1u);                                      // idle, io_a's
    a.stop();
    asio::io_context b;
    call_options quick;
    quick.total_timeout = 1s;
    error_code result = client_errc::client_stopped;  // what a call that never completes leaves
    asio::co_spawn(
        b,
        [&]() -> asio::awaitable<void> {
            diagnostics d;
            auto [e, r] = co_await api.async_post_message("app_1", "b", note("on b"), d, quick,
                                                          asio::as_tuple(asio::use_awaitable));
            result = e;
        },
        asio::detached);
    b.run_for(10s);
    BOOST_TEST(!result);
    BOOST_TEST(c.open_connections() == 2u);  // b opened its own
    BOOST_TEST(c.counters().connections_reused == 0u);
}

// The client's executor stops after one call; calls made from another io_context still complete, on their own
// connections; and when the stopped context holds every connection, they fail at their deadline instead of
// hanging.
BOOST_AUTO_TEST_CASE(a_stopped_io_context_never_holds_up_another)
{
    mock::server_params mp;
    mp.faults.push_back(mock::parse_fault("delay=5000,count=1,route=post_message"));  // the first post hangs
    threaded_mock m(mp);
    auto params = m.client_params_for();
    params.pool.max_connections = 2;
    running_context a;
    client c(a.io.get_executor(), params);
    conversation_api api{c};

    // One call on io_a, in flight (the mock holds its answer) when io_a stops.
    std::atomic<bool> a_started{false};
    asio::co_spawn(
        a.io,
        [&]() -> asio::awaitable<void> {
            a_started = true;
            auto [e, r] =
                co_await api.async_post_message("app_1", "a", note("held"), asio::as_tuple(asio::use_awaitable));
            (void)e;
        },
        asio::detached);
    // Until the mock has read that request (io_a's call then holds its connection), bounded.
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (m.srv->record().requests_total == 0 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    BOOST_TEST_REQUIRE(m.srv->record().requests_total == 1u);
    BOOST_TEST_REQUIRE(a_started.load());
    a.stop();

    asio::io_context b;
    call_options quick;
    quick.total_timeout = 1s;
    int ok = 0;
    error_code last;
    asio::co_spawn(
        b,
        [&]() -> asio::awaitable<void> {
            for (int i = 0; i < 5; ++i) {
                diagnostics d;
                auto [e, r] = co_await api.async_post_message("app_1", "b", note("from b " + std::to_string(i)), d,
                                                              quick, asio::as_tuple(asio::use_awaitable));
                if (!e) ++ok;
                last = e;
            }
        },
        [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
    const auto t0 = std::chrono::steady_clock::now();
    b.run();
    BOOST_TEST(ok == 5);
    BOOST_TEST(!last);
    BOOST_TEST((std::chrono::steady_clock::now() - t0 < 5s));
    BOOST_TEST(c.open_connections() == 2u);  // one held by io_a's call, one of b's own

    // Both slots taken: a's (stuck) and one held by a call of b that the mock delays.
    m.srv->add_fault(mock::parse_fault("delay=3000,count=1,route=get_messages"));
    b.restart();
    error_code waited;
    diagnostics wd;
    call_options short_deadline;
    short_deadline.total_timeout = 300ms;
    asio::co_spawn(
        b,
        [&]() -> asio::awaitable<void> {
            const auto before = m.srv->record().requests_total;
            auto holder = api.async_get_messages("app_1", "b", {}, asio::deferred);
            // Bound to b: a handler without an executor would run on the client's, io_a, which is stopped.
            std::move(holder)(asio::bind_executor(b, asio::detached));  // holds b's connection for 3 s
            for (int i = 0; i < 100000 && m.srv->record().requests_total == before; ++i)
                co_await asio::post(b, asio::use_awaitable);
            BOOST_TEST_REQUIRE(m.srv->record().requests_total == before + 1);
            auto [e, r] = co_await api.async_post_message("app_1", "b", note("late"), wd, short_deadline,
                                                          asio::as_tuple(asio::use_awaitable));
            waited = e;
        },
        asio::detached);
    const auto t1 = std::chrono::steady_clock::now();
    b.run_for(10s);
    BOOST_TEST((waited == client_errc::deadline_exceeded));
    BOOST_TEST(wd.message == "while waiting for a pooled connection");
    BOOST_TEST((std::chrono::steady_clock::now() - t1 < 5s));
}

// SPDX-License-Identifier: BSL-1.0
// The client on multi-threaded executors, for ThreadSanitizer (the tsan preset runs this file): calls from
// four threads at once, and the paths that make a connection's deadline act while its call runs on another
// thread: 1 ms attempt timeouts, cancellations, the 429 gate, retries and shutdown().

#define BOOST_TEST_MODULE thread_safety
#include <boost/test/unit_test.hpp>

#include "fixture.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <future>
#include <memory>
#include <random>
#include <thread>

using namespace smooch;
using namespace smooch::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

std::size_t stored(const mock::record& rec)
{
    std::size_t n = 0;
    for (auto& conv : rec.conversations) n += conv.created_ids.size();
    return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(four_threads_hammer_one_client)
{
    threaded_mock m({});
    asio::thread_pool threads(4);
    auto p = m.client_params_for();
    p.pool.max_connections = 6;
    client c(threads.get_executor(), p);
    std::atomic<int> failures{0};
    std::vector<std::future<void>> done;
    for (int t = 0; t < 8; ++t) {
        done.push_back(asio::co_spawn(
            threads,
            [&, t]() -> asio::awaitable<void> {
                conversation_api api{c};
                for (int i = 0; i < 40; ++i) {
                    auto user = "t" + std::to_string(t % 4);
                    auto o = co_await try_post_message(api, "app_1", user,
                                                       text_message(std::to_string(t) + ":" + std::to_string(i)));
                    if (o.ec) ++failures;
                    if (i % 10 == 0) {
                        auto g = co_await try_get_messages(api, "app_1", user);
                        if (g.ec) ++failures;
                    }
                }
            },
            asio::use_future));
    }
    for (auto& f : done) BOOST_TEST((f.wait_for(60s) == std::future_status::ready));
    BOOST_TEST(failures.load() == 0);
    BOOST_TEST(c.open_connections() <= 6u);
    c.shutdown();
    threads.join();
    BOOST_TEST(stored(m.srv->record()) == 8u * 40u);
}

// Deadlines firing while calls run on other threads. The mock delays a third of the answers by 3 ms and
// throttles or resets some, so 1 ms attempt timeouts shut sockets down mid-exchange; a third of the calls are
// cancelled by a timer; one worker shuts the pool down while the others still call. Each worker runs on its
// own strand of a 4-thread pool (as a multi-threaded server does), so a connection opened on one strand is
// reused from others while its deadline timer belongs to the first. Every call must end, each counted once,
// with no data race (TSan halts on the first).
BOOST_AUTO_TEST_CASE(deadlines_cancellations_and_shutdown_across_four_threads)
{
    mock::server_params mp;
    mp.faults.push_back(mock::parse_fault("delay=3,probability=0.33"));
    mp.faults.push_back(mock::parse_fault("status=429,retry_after=0,probability=0.1,route=get_messages"));
    mp.faults.push_back(mock::parse_fault("reset,probability=0.05,route=get_messages"));
    threaded_mock m(mp);
    asio::thread_pool threads(4);
    auto p = m.client_params_for();
    p.pool.max_connections = 4;
    p.timeouts.attempt = 1ms;
    p.timeouts.total = 200ms;
    p.retry.backoff_base = 1ms;
    p.retry.backoff_cap = 2ms;
    client c(threads.get_executor(), p);
    std::atomic<int> ended{0}, timed_out{0}, cancelled{0}, stopped{0};
    auto tally = [&](const error_code& ec) {
        if (ec == client_errc::attempt_timeout || ec == client_errc::deadline_exceeded ||
            ec == client_errc::outcome_unknown)
            ++timed_out;
        else if (ec == asio::error::operation_aborted) ++cancelled;
        else if (ec == client_errc::client_stopped) ++stopped;
    };
    constexpr int workers = 8, calls_each = 60;
    std::vector<std::future<void>> done;
    for (int t = 0; t < workers; ++t) {
        auto strand = asio::make_strand(threads);
        done.push_back(asio::co_spawn(
            strand,
            [&, t, strand]() -> asio::awaitable<void> {
                conversation_api api{c};
                std::minstd_rand rng(static_cast<unsigned>(t));
                for (int i = 0; i < calls_each; ++i) {
                    if (t == 0 && i == calls_each * 3 / 4) c.shutdown();  // the rest get client_stopped
                    const auto user = "u" + std::to_string(t % 3);
                    // Shared with the timer's handler, which may already be queued (expired) when the call ends
                    // and then runs after this iteration: it must find the signal alive and the call over.
                    struct canceller_state {
                        asio::cancellation_signal signal;
                        bool call_ended = false;
                    };
                    auto cancel = std::make_shared<canceller_state>();
                    asio::steady_timer canceller(strand);
                    if (i % 3 == 0) {
                        canceller.expires_after(std::chrono::microseconds(rng() % 1500));
                        canceller.async_wait([cancel](error_code e) {
                            if (!e && !cancel->call_ended) cancel->signal.emit(asio::cancellation_type::terminal);
                        });
                    }
                    co_await asio::co_spawn(
                        strand,
                        [&]() -> asio::awaitable<void> {
                            if (i % 2) {
                                auto o = co_await try_post_message(api, "app_1", user, text_message("m"));
                                tally(o.ec);
                            } else {
                                auto o = co_await try_get_messages(api, "app_1", user);
                                tally(o.ec);
                            }
                        },
                        asio::bind_cancellation_slot(cancel->signal.slot(), asio::use_awaitable));
                    cancel->call_ended = true;
                    canceller.cancel();
                    ++ended;
                }
            },
            asio::use_future));
    }
    for (auto& f : done) BOOST_TEST((f.wait_for(60s) == std::future_status::ready));
    BOOST_TEST(ended.load() == workers * calls_each);
    const auto k = c.counters();
    BOOST_TEST(k.requests == k.succeeded + k.failed);  // every call counted once, none in flight
    BOOST_TEST(timed_out.load() > 0);                  // each path was reached: deadlines fired mid-exchange,
    BOOST_TEST(cancelled.load() > 0);                  // callers cancelled,
    BOOST_TEST(stopped.load() > 0);                    // and shutdown() failed the calls that came after it
    threads.join();
}

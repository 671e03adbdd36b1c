// SPDX-License-Identifier: BSL-1.0
// smooch::redis::rate_source against a real redis-server (started here, port from the OS): two sources (as two
// processes would) share one budget; a 429 reported by one pauses the other; an unreachable Redis and a server
// that never answers both mean the fallback share at once, said through on_mode_change, and no stall; a Redis
// that comes back is used again. Single-threaded: one io_context run by the test, every run bounded.

#define BOOST_TEST_MODULE redis_rate_source
#include <boost/test/unit_test.hpp>

#include <smooch/redis.hpp>

#include "redis_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

using namespace smooch;
using namespace smooch::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

namespace {

struct source {
    std::shared_ptr<redis::rate_source> rs;
    std::vector<std::pair<bool, std::string>> modes;  // what on_mode_change said
};

std::unique_ptr<source> make_source(asio::io_context& io, const std::string& url, double rate, double burst,
                                    std::string prefix, double share = 1, std::string password = {},
                                    std::string username = {})
{
    auto s = std::make_unique<source>();
    redis::rate_source_params p;
    p.url = url;
    p.key_prefix = std::move(prefix);
    p.rate = rate;
    p.burst = burst;
    p.lease = 5;
    p.fallback_share = share;
    p.probe_interval = 100ms;
    p.password = std::move(password);
    p.username = std::move(username);
    p.on_mode_change = [m = &s->modes](bool shared, std::string_view why) { m->emplace_back(shared, why); };
    error_code ec;
    s->rs = redis::rate_source::create(io.get_executor(), p, ec);
    BOOST_REQUIRE_MESSAGE(s->rs, ec.message());
    return s;
}

/// Acquires from `rs` in a loop for `window`; returns how many it got.
std::size_t take_for(asio::io_context& io, std::vector<redis::rate_source*> sources, std::chrono::milliseconds window,
                     std::vector<std::size_t>* each = nullptr)
{
    std::vector<std::size_t> got(sources.size(), 0);
    const auto end = steady::now() + window;
    for (std::size_t i = 0; i < sources.size(); ++i)
        asio::co_spawn(
            io,
            [&, i]() -> asio::awaitable<void> {
                while (steady::now() < end) {
                    if (co_await sources[i]->acquire("app_1", end)) break;
                    if (steady::now() < end) ++got[i];
                }
            },
            asio::detached);
    io.restart();
    io.run_for(window + 2s);  // bounded
    if (each) *each = got;
    std::size_t total = 0;
    for (auto g : got) total += g;
    return total;
}

}  // namespace

BOOST_AUTO_TEST_CASE(two_sources_share_one_budget)
{
    temp_dir dir;
    redis_server r(dir);
    asio::io_context io;
    auto a = make_source(io, r.url(), 200, 10, "t1:"), b = make_source(io, r.url(), 200, 10, "t1:");
    std::vector<std::size_t> each;
    const auto total = take_for(io, {a->rs.get(), b->rs.get()}, 1000ms, &each);
    // 200/s and a burst of 10 over 1 s, whoever asks: not 2 x 200.
    BOOST_TEST(total <= 215u);
    BOOST_TEST(total >= 180u);
    BOOST_TEST(each[0] >= 40u);  // both got a real share
    BOOST_TEST(each[1] >= 40u);
    BOOST_TEST(a->modes.empty());
    BOOST_TEST(a->rs->stats().redis_calls <= total / 5 + 10);  // leases of 5
}

BOOST_AUTO_TEST_CASE(a_429_reported_by_one_pauses_the_other)
{
    temp_dir dir;
    redis_server r(dir);
    asio::io_context io;
    auto a = make_source(io, r.url(), 1000, 10, "t2:"), b = make_source(io, r.url(), 1000, 10, "t2:");
    BOOST_TEST(take_for(io, {a->rs.get()}, 100ms) > 0u);
    a->rs->on_throttled("app_1", std::chrono::milliseconds(600));
    BOOST_TEST(take_for(io, {a->rs.get()}, 50ms) == 0u);  // carries the pause to Redis; nothing meanwhile
    // The other "process" gets nothing during the pause, although its own Redis calls are fine.
    BOOST_TEST(take_for(io, {b->rs.get()}, 300ms) == 0u);
    BOOST_TEST(take_for(io, {b->rs.get()}, 700ms) > 0u);  // and resumes after it
    BOOST_TEST(b->modes.empty());
}

BOOST_AUTO_TEST_CASE(unreachable_redis_means_the_fallback_share_and_it_resumes)
{
    temp_dir dir;
    redis_server r(dir);
    r.stop();  // the port is known and closed
    asio::io_context io;
    auto a = make_source(io, r.url(), 400, 20, "t3:", 0.25);  // fallback 100/s, burst 5
    const auto got = take_for(io, {a->rs.get()}, 1000ms);
    BOOST_TEST(got <= 106u);
    BOOST_TEST(got >= 80u);
    BOOST_REQUIRE(!a->modes.empty());
    BOOST_TEST(!a->modes.front().first);
    BOOST_TEST(a->modes.front().second.find("falling back to 100") != std::string::npos, a->modes.front().second);
    BOOST_TEST(!a->rs->stats().shared);
    r.start();                           // same port
    take_for(io, {a->rs.get()}, 500ms);  // probes every 100 ms
    BOOST_TEST(a->rs->stats().shared);
    BOOST_TEST(a->modes.back().first);
    BOOST_TEST(a->rs->stats().granted_shared > 0u);
}

BOOST_AUTO_TEST_CASE(a_redis_that_never_answers_times_out_into_the_fallback)
{
    // A listener that accepts and never answers: a hung Redis.
    asio::io_context io;
    asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket held(io);
    silent.async_accept(held, [](error_code) {});
    auto a =
        make_source(io, "redis://127.0.0.1:" + std::to_string(silent.local_endpoint().port()), 400, 20, "t4:", 0.25);
    const auto start = steady::now();
    std::size_t got = 0;
    error_code first;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            first = co_await a->rs->acquire("app_1", steady::now() + 5s);
            ++got;
        },
        asio::detached);
    io.run_for(3s);
    BOOST_TEST(got == 1u);
    BOOST_TEST(!first);
    // Granted by the fallback once the connect timeout (500 ms, the function load on connect) passed.
    BOOST_TEST((steady::now() - start < 2s));
    BOOST_TEST(a->rs->stats().granted_fallback == 1u);
    BOOST_TEST(a->rs->stats().redis_failures >= 1u);
    BOOST_TEST(!a->modes.empty());
}

BOOST_AUTO_TEST_CASE(a_redis_with_a_password_is_shared_with_the_right_one_only)
{
    temp_dir dir;
    redis_server r(dir, "s3cret-pass");
    asio::io_context io;
    auto good = make_source(io, r.url(), 400, 20, "t6:", 0.25, "s3cret-pass");
    auto named = make_source(io, r.url(), 400, 20, "t6:", 0.25, "s3cret-pass", "default");  // Redis 6 ACL form
    auto none = make_source(io, r.url(), 400, 20, "t6:", 0.25);
    auto wrong = make_source(io, r.url(), 400, 20, "t6:", 0.25, "not-it");
    take_for(io, {good->rs.get(), named->rs.get(), none->rs.get(), wrong->rs.get()}, 500ms);
    for (auto* ok : {good.get(), named.get()}) {
        BOOST_TEST(ok->rs->stats().shared);
        BOOST_TEST(ok->rs->stats().granted_shared > 0u);
        BOOST_TEST(ok->rs->stats().granted_fallback == 0u);
        BOOST_TEST(ok->modes.empty());
    }
    // Refused: the fallback share, said plainly, with Redis's reason and neither password.
    for (auto [s, reason] : {std::pair{none.get(), "NOAUTH"}, std::pair{wrong.get(), "WRONGPASS"}}) {
        BOOST_TEST_CONTEXT(reason)
        {
            BOOST_TEST(!s->rs->stats().shared);
            BOOST_TEST(s->rs->stats().granted_fallback > 0u);
            BOOST_REQUIRE(!s->modes.empty());
            const auto& why = s->modes.front().second;
            BOOST_TEST(why.find("Redis refused the credentials") != std::string::npos, why);
            BOOST_TEST(why.find(reason) != std::string::npos, why);
            BOOST_TEST(why.find("falling back to 100") != std::string::npos, why);
            BOOST_TEST(why.find("s3cret") == std::string::npos, why);
            BOOST_TEST(why.find("not-it") == std::string::npos, why);
        }
    }
}

BOOST_AUTO_TEST_CASE(bad_parameters_are_refused)
{
    asio::io_context io;
    redis::rate_source_params p;
    error_code ec;
    p.rate = 0;
    BOOST_TEST(!redis::rate_source::create(io.get_executor(), p, ec));
    BOOST_TEST(ec == error_code(client_errc::invalid_configuration));
    p.rate = 10;
    p.url = "redis://user:pw@h:1";
    BOOST_TEST(!redis::rate_source::create(io.get_executor(), p, ec));
    BOOST_TEST(ec == error_code(redis::redis_errc::bad_url));
    BOOST_TEST(ec.message().find("pw") == std::string::npos);
    p.url = "redis://127.0.0.1:1";
    p.fallback_share = 2;
    BOOST_TEST(!redis::rate_source::create(io.get_executor(), p, ec));
    p.fallback_share = 1;
    p.username = "someone";  // a user without a password would not authenticate at all
    BOOST_TEST(!redis::rate_source::create(io.get_executor(), p, ec));
    BOOST_TEST(ec == error_code(client_errc::invalid_configuration));
}

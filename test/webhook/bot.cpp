// SPDX-License-Identifier: BSL-1.0
// The bot example (examples/bot_server) as a program, the way it is deployed: its flags, the status of every
// kind of bad request, replies through the smooch-mock program (the example's CI run), replies in flight
// finished after SIGINT, and the end-to-end test: 200 users at once, webhooks duplicated and failed on purpose,
// exactly one reply each, with the acknowledgement and reply latencies printed.

#include "support.hpp"
#include "text.hpp"

#include <smooch/conversation_api.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <regex>
#include <set>

#ifndef SMOOCH_BOT_EXE
#error "SMOOCH_BOT_EXE must name the example_bot_server program"
#endif
#ifndef SMOOCH_MOCK_EXE
#error "SMOOCH_MOCK_EXE must name the smooch-mock program"
#endif

using namespace webhook_test;

namespace {

const std::string bot_secret = "bot-webhook-secret";

/// The bot started against a Conversation API at `api_url` (CA in `ca_file`), listening on a port of the OS's.
struct bot_process {
    bot_process(const std::string& api_url, const std::string& ca_file, std::vector<std::string> extra = {})
        : proc(SMOOCH_BOT_EXE, args(std::move(extra)),
               {"SMOOCH_URL=" + api_url, "SMOOCH_CA=" + ca_file, "SMOOCH_KEY_ID=acct", "SMOOCH_SECRET=acct-secret"})
    {
        auto l = proc.line();
        BOOST_TEST_REQUIRE(l.has_value(), "no line from the bot; stderr: " << proc.err());
        url = listening_url(*l);
        BOOST_TEST_REQUIRE(url.rfind("http://127.0.0.1:", 0) == 0, *l);
    }
    static std::vector<std::string> args(std::vector<std::string> extra)
    {
        std::vector<std::string> a{"--listen", "127.0.0.1:0", "--webhook-secret", bot_secret};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
    unsigned short port() const { return port_of(url); }
    child proc;
    std::string url;
};

/// The counters of the bot's last line, "stopped: webhooks N, duplicates N, rejected N, busy N, replies N, failed N".
std::map<std::string, long> stats_of(const std::string& out)
{
    std::map<std::string, long> m;
    auto at = out.rfind("stopped: ");
    BOOST_TEST_REQUIRE(at != std::string::npos, out);
    std::regex item("([a-z]+) ([0-9]+)");
    const std::string tail = out.substr(at + 9);
    for (std::sregex_iterator it(tail.begin(), tail.end(), item), end; it != end; ++it)
        m[(*it)[1]] = std::stol((*it)[2]);
    return m;
}

/// One raw request to the bot; the response.
response ask(unsigned short port, const std::string& method, const std::string& body,
             const std::optional<std::string>& key = bot_secret)
{
    client c(port, false);
    std::string wire = method + " / HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n";
    if (key) wire += "X-API-Key: " + *key + "\r\n";
    wire += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    BOOST_TEST_REQUIRE(!c.write_raw(wire));
    response r;
    auto ec = c.read(r);
    BOOST_TEST_REQUIRE(!ec, ec.message());
    return r;
}

/// Roles of a conversation's stored messages, in order.
std::vector<std::string> roles(const mock::conversation_record& c)
{
    std::vector<std::string> out;
    for (auto& m : c.messages) out.push_back(std::string(json::parse(m.json).at("role").as_string()));
    return out;
}

smooch::client_params client_params(const server_fixture& s)
{
    smooch::client_params p;
    p.base_url = s.srv->base_url();
    p.credentials = smooch::basic_auth{"acct", "acct-secret"};
    p.tls.ca_pem = shared_tls().ca_pem;
    p.pool.max_connections = 32;
    return p;
}

/// Posts one appUser message for each of `users` through the client, all at once (rate 0) or `rate` per second;
/// the number that failed.
int post_all(const server_fixture& s, const std::vector<std::string>& users, double rate = 0)
{
    asio::io_context io;
    smooch::client c(io.get_executor(), client_params(s));
    smooch::conversation_api api(c);
    int failed = 0;
    const auto t0 = clock_type::now();
    for (std::size_t i = 0; i < users.size(); ++i) {
        const auto start = t0 + std::chrono::microseconds(rate > 0 ? static_cast<long>(1e6 * double(i) / rate) : 0);
        asio::co_spawn(
            io,
            [&api, u = users[i], start]() -> asio::awaitable<void> {
                asio::steady_timer pace(co_await asio::this_coro::executor, start);
                co_await pace.async_wait(asio::use_awaitable);
                smooch::message_post m;
                m.role = smooch::role::app_user;
                m.text = "hello from " + u;
                co_await api.post_message("app1", u, m);
            },
            [&](std::exception_ptr e) {
                if (e) ++failed;
            });
    }
    io.run();
    return failed;
}

std::vector<std::string> user_names(int n)
{
    std::vector<std::string> v;
    for (int i = 0; i < n; ++i) v.push_back("user-" + std::to_string(i));
    return v;
}

int env_int(const char* name, int fallback)
{
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : fallback;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bot)

BOOST_AUTO_TEST_CASE(flags, *boost::unit_test::timeout(guard))
{
    {
        child b(SMOOCH_BOT_EXE, {"--help"});
        BOOST_TEST(exited_0(b.wait()));
        BOOST_TEST(b.out().find("--webhook-secret") != std::string::npos);
        BOOST_TEST(b.out().find("listening on http://HOST:PORT") != std::string::npos);
        const auto wide = smooch::test::lines_wider_than(b.out());  // fits an 80-column terminal
        BOOST_TEST(wide.empty(), smooch::test::first_of(wide));
    }
    const std::vector<std::string> env{"SMOOCH_KEY_ID=k", "SMOOCH_SECRET=s", "SMOOCH_URL=http://127.0.0.1:1"};
    struct row {
        std::vector<std::string> args;
        std::string error;
    };
    const std::vector<row> rows{
        {{"--webhook-secret", "SEKRET"}, "--listen HOST:PORT is required"},
        {{"--listen", "127.0.0.1:0"}, "--webhook-secret (or SMOOCH_WEBHOOK_SECRET) is required"},
        {{"--listen", "localhost:80", "--webhook-secret", "SEKRET"}, "--listen: 'localhost' is not an IP address"},
        {{"--listen", "127.0.0.1", "--webhook-secret", "SEKRET"}, "--listen: expected HOST:PORT"},
        {{"--listen", "127.0.0.1:70000", "--webhook-secret", "SEKRET"}, "--listen: port must be 0..65535"},
        {{"--listen", "127.0.0.1:0", "--webhook-secret", "SEKRET", "--max-body", "0"},
         "--max-body: expected a number >= 1"},
        {{"--listen", "127.0.0.1:0", "--webhook-secret", "SEKRET", "--max-connections", "x"},
         "--max-connections: expected a number >= 1, got 'x'"},
        {{"--listen", "127.0.0.1:0", "--webhook-secret", "SEKRET", "--dedup-window"}, "--dedup-window needs a value"},
        {{"--listen", "127.0.0.1:0", "--webhook-secret", "SEKRET", "--verbose"}, "unknown option --verbose"},
    };
    for (const auto& r : rows) {
        child b(SMOOCH_BOT_EXE, r.args, env);
        auto st = b.wait();
        BOOST_TEST(exit_code(st) == 2, r.error);
        BOOST_TEST(b.err().find(r.error) != std::string::npos, "expected '" << r.error << "', got " << b.err());
        BOOST_TEST(b.err().find("SEKRET") == std::string::npos, b.err());
    }
    // The secret from the environment; SIGINT with nothing in flight stops at once.
    child b(SMOOCH_BOT_EXE, {"--listen", "[::1]:0"},
            {"SMOOCH_WEBHOOK_SECRET=from-env", "SMOOCH_KEY_ID=k", "SMOOCH_SECRET=s", "SMOOCH_URL=http://127.0.0.1:1"});
    auto l = b.line();
    BOOST_TEST_REQUIRE(l.has_value(), b.err());
    BOOST_TEST(l->rfind("listening on http://[::1]:", 0) == 0, *l);
    BOOST_TEST(exited_0(b.stop(SIGINT, std::chrono::seconds(5))), b.err());
    BOOST_TEST(b.out().find("stopped: webhooks 0") != std::string::npos, b.out());
}

BOOST_AUTO_TEST_CASE(bad_requests_get_statuses_that_stop_redelivery, *boost::unit_test::timeout(guard))
{
    temp_dir dir;
    server_fixture s;
    bot_process b(s.srv->base_url(), dir.file("ca.pem", shared_tls().ca_pem), {"--max-body", "4096"});
    const std::string good = R"({"trigger":"message:appUser","app":{"_id":"app1"},"appUser":{"_id":"x","userId":"u"},
        "messages":[{"_id":"m1","role":"appUser","type":"text","text":"hi"}]})";
    struct row {
        std::string method, body;
        std::optional<std::string> key;
        unsigned status;
        std::string says;
    };
    const std::vector<row> rows{
        {"POST", good, std::nullopt, 401, "X-API-Key"},
        {"POST", good, "wrong", 401, "X-API-Key"},
        {"POST", good, bot_secret + "x", 401, "X-API-Key"},
        {"POST", "{\"trigger\":", bot_secret, 400, "invalid JSON at offset"},
        {"POST", R"({"trigger":"message:appUser","messages":[{"received":"now"}]})", bot_secret, 400,
         "messages[0].received: expected number"},
        {"POST", R"({"app":{"_id":"a"}})", bot_secret, 400, "trigger: required key missing"},
        {"POST", R"({"trigger":"message:appUser","app":{"_id":"a"},"messages":[]})", bot_secret, 400, "appUser"},
        {"POST",
         R"({"trigger":"message:appUser","app":{"_id":"a"},"appUser":{"_id":"u"},"messages":[{"role":"appUser"}]})",
         bot_secret, 400, "messages[0]._id: required"},
        {"POST", std::string(5000, ' ') + good, bot_secret, 400, "too large"},
        {"GET", "", bot_secret, 405, "POST"},
        // Acknowledged without a reply: Smooch would redeliver anything else.
        {"POST", R"({"trigger":"conversation:typing","app":{"_id":"a"}})", bot_secret, 200, "ignored"},
        {"POST", R"({"trigger":"message:appMaker","app":{"_id":"a"},"messages":[{"_id":"m2"}]})", bot_secret, 200,
         "ignored"},
    };
    for (const auto& r : rows) {
        auto res = ask(b.port(), r.method, r.body, r.key);
        BOOST_TEST(res.result_int() == r.status, r.body.substr(0, 80) << ": " << res.result_int() << " " << res.body());
        BOOST_TEST(res.body().find(r.says) != std::string::npos, res.body());
    }
    BOOST_TEST(exited_0(b.proc.stop(SIGTERM)), b.proc.err());
    auto st = stats_of(b.proc.out());
    BOOST_TEST(st["rejected"] == 8);  // the oversized body never reached the handler: the server answered it
    BOOST_TEST(st["replies"] == 0);
    BOOST_TEST(s.srv->record().operation_count("post_message") == 0u);  // nothing was answered
}

// The example's run against the smooch-mock program (what CI runs for every example): the mock configured with
// the bot as its webhook target through the admin API (the bot's port is known only once it runs, and the bot
// needs the mock's URL first), the mock's default triggers, so the bot also receives its own appMaker messages.
BOOST_AUTO_TEST_CASE(replies_through_the_mock_program, *boost::unit_test::timeout(guard))
{
    temp_dir dir;
    const std::string ca = dir.path + "/mock-ca.pem";
    child mock(SMOOCH_MOCK_EXE,
               {"--self-signed", "--write-ca", ca, "--admin", "--key-id", "acct", "--secret", "acct-secret"});
    auto line = mock.line();
    BOOST_TEST_REQUIRE(line.has_value(), mock.err());
    const std::string api = listening_url(*line);
    BOOST_TEST_REQUIRE(api.rfind("https://127.0.0.1:", 0) == 0, *line);
    std::string ca_pem;
    {
        std::ifstream f(ca);
        ca_pem.assign(std::istreambuf_iterator<char>(f), {});
    }
    bot_process b(api, ca);
    auto admin = [&] {
        auto c = std::make_unique<client>(client::deferred, port_of(api), true, ca_pem);
        c->connect();
        return c;
    };
    json::object settings{{"target", b.url + "/"}, {"secret", bot_secret}, {"retry_base_ms", 20}};
    auto set = admin()->request(http::verb::post, "/_admin/webhook", json::serialize(settings), "");
    BOOST_TEST_REQUIRE(set.result_int() == 200u, set.body());

    const auto users = user_names(5);
    {
        auto c = admin();
        for (auto& u : users) post(*c, "app1", u, "hi " + u, "appUser");
    }
    json::object rec;
    BOOST_TEST_REQUIRE(wait_for([&] {
        rec = body_of(admin()->request(http::verb::get, "/_admin/record"));
        // 5 appUser + 5 appMaker webhooks delivered, and a reply in every conversation
        if (rec.at("webhooks_delivered").as_int64() < 10) return false;
        for (auto& c : rec.at("conversations").as_array())
            if (c.at("texts").as_array().size() < 2) return false;
        return rec.at("conversations").as_array().size() == users.size();
    }));
    for (auto& c : rec.at("conversations").as_array()) {
        auto& texts = c.at("texts").as_array();
        BOOST_TEST_REQUIRE(texts.size() == 2u);
        BOOST_TEST(texts[1].as_string() == "You said: " + std::string(texts[0].as_string()));
    }
    BOOST_TEST(exited_0(b.proc.stop(SIGINT)), b.proc.err());
    auto st = stats_of(b.proc.out());
    BOOST_TEST(st["replies"] == 5);
    BOOST_TEST(st["failed"] == 0);
    BOOST_TEST(st["webhooks"] == 10);  // its own appMaker messages came back, and were ignored
    BOOST_TEST(exited_0(mock.stop(SIGTERM)), mock.err());
}

BOOST_AUTO_TEST_CASE(sigint_finishes_the_replies_in_flight, *boost::unit_test::timeout(guard))
{
    temp_dir dir;
    server_fixture s;
    bot_process b(s.srv->base_url(), dir.file("ca.pem", shared_tls().ca_pem));
    mock::webhook_params w;
    w.target = b.url + "/";
    w.secret = bot_secret;
    w.triggers = {"message:appUser"};
    s.srv->set_webhook(w);
    const auto users = user_names(10);
    BOOST_TEST_REQUIRE(post_all(s, users) == 0);
    // Hold every reply's answer for 300 ms, and signal while they wait: the bot must still finish each reply,
    // typing:stop included.
    s.srv->add_fault(mock::parse_fault("delay=300,route=post_message"));
    BOOST_TEST_REQUIRE(wait_for([&] { return s.srv->record().routed["post_message"] >= 20; }));
    auto st = b.proc.stop(SIGINT);
    BOOST_TEST_REQUIRE(exited_0(st), b.proc.err());
    auto rec = s.srv->record();
    BOOST_TEST(rec.operation_count("post_message") == 20u);
    BOOST_TEST(rec.operation_count("conversation_activity") == 20u);  // typing:start and typing:stop, each user
    auto stats = stats_of(b.proc.out());
    BOOST_TEST(stats["replies"] == 10);
    BOOST_TEST(stats["failed"] == 0);
}

BOOST_AUTO_TEST_CASE(end_to_end_200_users_with_duplicates_and_failures, *boost::unit_test::timeout(240))
{
    const int n = env_int("SMOOCH_E2E_USERS", 200);
    const bool faults = env_int("SMOOCH_E2E_FAULTS", 1) != 0;
    const int rate = env_int("SMOOCH_E2E_RATE", 0);  // user posts per second; 0: all at once
    temp_dir dir;
    server_fixture s;
    bot_process b(s.srv->base_url(), dir.file("ca.pem", shared_tls().ca_pem), {"--max-connections", "512"});
    mock::webhook_params w;
    w.target = b.url + "/";
    w.secret = bot_secret;
    w.triggers = {"message:appUser"};
    w.retry_base = std::chrono::milliseconds(20);
    w.max_in_flight = 256;
    if (faults) {
        w.duplicate_probability = 0.2;  // about 40 webhooks delivered twice
        w.fail_probability = 0.05;      // lost answers, retried: the bot sees those twice too
        w.fail_first = 5;               // at least 5 of them, whatever the draws
    }
    s.srv->set_webhook(w);

    const auto users = user_names(n);
    BOOST_TEST_REQUIRE(post_all(s, users, rate) == 0);
    mock::record rec;
    const bool done = wait_for(
        [&] {
            rec = s.srv->record();
            std::size_t replied = 0;
            for (auto& c : rec.conversations) replied += c.messages.size() >= 2;
            return replied == users.size() && rec.webhooks_delivered + rec.webhooks_failed >= rec.webhooks_queued;
        },
        std::chrono::seconds(120));
    BOOST_TEST_REQUIRE(done, "replies missing; bot stderr: " << b.proc.err().substr(0, 2000));
    // Stopping the bot finishes whatever it still has in flight: after this the record is final.
    BOOST_TEST_REQUIRE(exited_0(b.proc.stop(SIGTERM)), b.proc.err());
    rec = s.srv->record();
    auto stats = stats_of(b.proc.out());

    // Exactly one reply per user, after the user's message.
    BOOST_TEST_REQUIRE(rec.conversations.size() == users.size());
    for (auto& c : rec.conversations) {
        BOOST_TEST((roles(c) == std::vector<std::string>{"appUser", "appMaker"}), c.user_id);
        BOOST_TEST(c.texts().at(1) == "You said: hello from " + c.user_id);
    }
    BOOST_TEST(rec.operation_count("post_message") == 2u * users.size());
    BOOST_TEST(rec.operation_count("conversation_activity") == 2u * users.size());
    BOOST_TEST(rec.webhooks_failed == 0u);
    BOOST_TEST(stats["replies"] == n);
    BOOST_TEST(stats["failed"] == 0);

    // The faults really happened, and reached the bot: without its de-duplication these users would have two
    // replies, and the check above would fail.
    std::size_t dup_delivered = 0, injected = 0, retried_delivered = 0;
    for (auto& a : rec.webhook_deliveries) {
        dup_delivered += a.duplicate && a.outcome == mock::webhook_outcome::delivered;
        injected += a.outcome == mock::webhook_outcome::injected;
        retried_delivered += a.attempt > 1 && a.outcome == mock::webhook_outcome::delivered;
    }
    if (faults) {
        BOOST_TEST(dup_delivered >= 1u);
        BOOST_TEST(injected >= 5u);
        BOOST_TEST(retried_delivered >= 5u);
        BOOST_TEST(stats["duplicates"] >= static_cast<long>(dup_delivered));
        BOOST_TEST(stats["webhooks"] == static_cast<long>(rec.webhooks_delivered + injected));
    }

    // Latencies, all on the mock's steady clock (it runs in this process).
    std::vector<double> ack_us, reply_ms, post_to_reply_ms;
    for (auto& a : rec.webhook_deliveries)
        if (a.outcome == mock::webhook_outcome::delivered) ack_us.push_back(static_cast<double>(a.answer_time.count()));
    for (auto& u : users) {
        std::optional<clock_type::time_point> first_webhook;
        for (auto& a : rec.webhook_deliveries)
            if (a.user_id == u && (!first_webhook || a.start < *first_webhook)) first_webhook = a.start;
        std::vector<clock_type::time_point> posts;
        for (auto& r : rec.requests)
            if (r.route == "post_message" && r.user_id == u && r.applied) posts.push_back(r.arrival);
        if (!first_webhook || posts.size() != 2) continue;
        std::sort(posts.begin(), posts.end());
        reply_ms.push_back(std::chrono::duration<double, std::milli>(posts[1] - *first_webhook).count());
        post_to_reply_ms.push_back(std::chrono::duration<double, std::milli>(posts[1] - posts[0]).count());
    }
    BOOST_TEST(reply_ms.size() == users.size());
    std::cout << "webhook e2e: " << n << " users " << (rate ? "at " + std::to_string(rate) + "/s" : "at once")
              << ", faults " << (faults ? "on" : "off") << ", " << rec.webhook_deliveries.size() << " attempts ("
              << dup_delivered << " duplicates delivered, " << injected
              << " injected failures), bot: " << stats["webhooks"] << " webhooks, " << stats["duplicates"]
              << " duplicates skipped\n"
              << "  acknowledgement (request written -> response headers, at the mock): p50 " << percentile(ack_us, 50)
              << " us, p99 " << percentile(ack_us, 99) << " us, max " << percentile(ack_us, 100) << " us\n"
              << "  webhook -> reply (first attempt starts -> reply arrives): p50 " << percentile(reply_ms, 50)
              << " ms, p99 " << percentile(reply_ms, 99) << " ms\n"
              << "  user's post -> reply: p50 " << percentile(post_to_reply_ms, 50) << " ms, p99 "
              << percentile(post_to_reply_ms, 99) << " ms" << std::endl;
}

BOOST_AUTO_TEST_SUITE_END()

// SPDX-License-Identifier: BSL-1.0
// The client against servers that answer oddly but legally (interim responses), or in ways that leave the
// outcome in doubt (an unreadable 2xx, a reset before a 404): each must be reported truthfully, and never as
// something a caller would re-send and so duplicate.

#define BOOST_TEST_MODULE hostile_server
#include <boost/test/unit_test.hpp>

#include "fixture.hpp"
#include "scripted_server.hpp"

using namespace smooch;
using namespace smooch::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

const std::string posted_201 = R"({"message":{"_id":"m1","role":"appMaker","type":"text","text":"hi","received":1.5},)"
                               R"("conversation":{"_id":"c1","unreadCount":0}})";

std::string http(unsigned status, const std::string& reason, const std::string& body)
{
    return "HTTP/1.1 " + std::to_string(status) + " " + reason +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct fixture {
    asio::io_context io;
    scripted_server srv{io.get_executor(), http(200, "OK", "{}")};
    std::unique_ptr<client> c;

    fixture()
    {
        client_params p;
        p.base_url = srv.url();
        p.credentials = basic_auth{"k", "s"};
        p.retry.backoff_base = 1ms;
        p.retry.backoff_cap = 2ms;
        c = std::make_unique<client>(io.get_executor(), p);
        asio::co_spawn(io, srv.serve(), asio::detached);
    }
    /// Runs `body` to completion, bounded.
    void run(std::function<asio::awaitable<void>()> body)
    {
        bool finished = false;
        asio::co_spawn(io, body(), [&](std::exception_ptr e) {
            finished = true;
            io.stop();  // the server's sessions and the client's idle connection would keep run_for busy
            if (e) std::rethrow_exception(e);
        });
        io.run_for(30s);
        BOOST_REQUIRE(finished);
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(interim_responses_before_the_final_one_are_skipped)
{
    fixture f;
    f.srv.script.push_back({"HTTP/1.1 100 Continue\r\n\r\n" + http(201, "Created", posted_201)});
    f.srv.script.push_back({"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n" +
                            http(200, "OK", R"({"messages":[]})")});
    f.run([&]() -> asio::awaitable<void> {
        conversation_api api{*f.c};
        auto posted = co_await try_post_message(api, "app", "u", text_message("hi"));
        BOOST_TEST(!posted.ec, describe(posted.ec, posted.diag));  // before: "HTTP 100", permanent, message stored
        BOOST_TEST(posted.diag.status == 201u);
        BOOST_TEST(posted.diag.attempts.size() == 1u);
        BOOST_TEST(posted.value->message->id.value_or("") == "m1");
        auto page = co_await try_get_messages(api, "app", "u");
        BOOST_TEST(!page.ec, describe(page.ec, page.diag));
    });
    BOOST_TEST(f.srv.connections == 1);  // and the connection stayed in use: nothing was left unread
}

BOOST_AUTO_TEST_CASE(switching_protocols_is_a_bad_response)
{
    fixture f;
    f.srv.response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n";
    f.run([&]() -> asio::awaitable<void> {
        auto r = co_await try_delete_messages(conversation_api{*f.c}, "app", "u");
        BOOST_TEST((r.ec == client_errc::bad_response));
        BOOST_TEST(r.diag.message.find("101") != std::string::npos, r.diag.message);
    });
}

BOOST_AUTO_TEST_CASE(a_status_outside_100_to_599_is_a_broken_answer_of_unknown_outcome)
{
    // Found by fuzzing (test/fuzz/regressions/response_reader/status-051): a "051" was a final answer, which
    // classify() took for a definitive refusal of the post.
    fixture f;
    f.srv.response = "HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 051 Processing\r\nContent-Length: 2\r\n\r\n{}";
    f.run([&]() -> asio::awaitable<void> {
        auto r = co_await try_post_message(conversation_api{*f.c}, "app", "u", text_message("hi"));
        // The server may have stored it: no telling from a broken answer.
        BOOST_TEST((r.ec == client_errc::outcome_unknown), r.ec.message() << ": " << r.diag.message);
        BOOST_TEST(r.diag.outcome_unknown);
        BOOST_TEST((r.diag.attempts.at(0).ec == client_errc::bad_response), r.diag.attempts.at(0).ec.message());
        BOOST_TEST(r.diag.message.find("status 51, outside 100..599") != std::string::npos, r.diag.message);
    });
}

BOOST_AUTO_TEST_CASE(an_unreadable_2xx_says_the_request_was_applied)
{
    fixture f;
    f.srv.script.push_back({http(201, "Created", "<html>created</html>")});
    f.srv.script.push_back({http(201, "Created", R"({"message":{"received":"yesterday"}})")});
    f.run([&]() -> asio::awaitable<void> {
        conversation_api api{*f.c};
        for (int i = 0; i < 2; ++i) {
            auto r = co_await try_post_message(api, "app", "u", text_message("hi"));
            BOOST_TEST((r.ec == client_errc::unreadable_response), r.ec.message());
            BOOST_TEST(r.diag.applied);           // a program can test it: do not send again
            BOOST_TEST(!r.diag.outcome_unknown);  // not unknown: the server said it was done
            BOOST_TEST(r.diag.status == 201u);
            BOOST_TEST(r.diag.message.find("201") != std::string::npos, r.diag.message);
            BOOST_TEST(r.diag.message.find("applied") != std::string::npos, r.diag.message);
        }
    });
    BOOST_TEST(f.srv.requests == 2);  // neither was retried
}

BOOST_AUTO_TEST_CASE(a_delete_whose_retry_finds_the_message_gone_succeeded)
{
    fixture f;
    // The first attempt is reset after the server read it (it may have deleted the message); the retry gets 404.
    f.srv.script.push_back({"", true});
    f.srv.script.push_back({http(404, "Not Found", R"({"error":{"code":"not_found","description":"gone"}})")});
    f.srv.script.push_back({http(404, "Not Found", R"({"error":{"code":"not_found","description":"gone"}})")});
    f.run([&]() -> asio::awaitable<void> {
        conversation_api api{*f.c};
        auto r = co_await try_delete_message(api, "app", "u", "m1");
        BOOST_TEST(!r.ec, describe(r.ec, r.diag));  // before: HTTP 404, as if nothing had been deleted
        BOOST_TEST(r.value->status == 404u);
        BOOST_TEST(r.value->by_earlier_attempt);
        BOOST_TEST(r.diag.attempts.size() == 2u);
        // A 404 on a first attempt is still an error: nothing of ours deleted it.
        auto again = co_await try_delete_message(api, "app", "u", "m1");
        BOOST_TEST((again.ec == make_http_error(404)));
    });
}

BOOST_AUTO_TEST_CASE(a_timestamp_shared_by_more_messages_than_a_page_stops_the_walk_with_a_clear_error)
{
    // 30 older messages, then a page holding nothing but one timestamp (of 180 messages, says the server).
    auto page = [](int from, int to, const std::string& received, bool next) {
        std::string b = R"({"messages":[)";
        for (int i = from; i < to; ++i) {
            if (i > from) b += ',';
            b += R"({"_id":"m)" + std::to_string(i) + R"(","role":"appUser","type":"text","text":"x","received":)" +
                 (received.empty() ? std::to_string(i) + ".5" : received) + "}";
        }
        b += "]";
        if (next) b += R"(,"next":"https://api.smooch.io/v1.1/apps/app/appusers/u/messages?after=1")";
        return b + "}";
    };
    fixture f;
    std::string first = page(0, 30, "", false);
    first.pop_back();  // the first page: 30 messages, then 70 of the shared timestamp, and more to come
    first.pop_back();
    for (int i = 30; i < 100; ++i)
        first +=
            R"(,{"_id":"g)" + std::to_string(i) + R"(","role":"appUser","type":"text","text":"x","received":500.25})";
    first += R"(],"next":"https://api.smooch.io/v1.1/apps/app/appusers/u/messages?after=1"})";
    f.srv.script.push_back({http(200, "OK", first)});
    f.srv.script.push_back({http(200, "OK", page(0, 100, "500.25", true))});  // re-read from before the group
    f.run([&]() -> asio::awaitable<void> {
        conversation_api api{*f.c};
        diagnostics d;
        std::size_t seen = 0;
        auto [ec, n] = co_await api.async_walk_history(
            "app", "u", walk_direction::oldest_first, [&](const message&) { ++seen; }, d,
            asio::as_tuple(asio::use_awaitable));
        BOOST_TEST((ec == client_errc::unpageable_history), ec.message());  // before: 130 visited, no error
        BOOST_TEST(d.message.find("received=500.25") != std::string::npos, d.message);
        BOOST_TEST(seen == 100u);  // the 30 before it and the 70 of it the first page showed, each once
        BOOST_TEST(n == 100u);
        BOOST_TEST(d.message.find("may be incomplete") != std::string::npos, d.message);
    });
}

// SPDX-License-Identifier: BSL-1.0
// Builds against an installed smooch: a model round trip through the public API (smooch::smooch), an in-process
// smooch-mock (smooch::mock) that starts on an OS-chosen port and answers one request, and a three-line campaign
// dispatched to it through smooch::dispatch (its SQLite journal in a temporary file).
#include <smooch/conversation_api.hpp>
#include <smooch/dispatch.hpp>
#include <smooch/json.hpp>
#include <smooch/mock/server.hpp>
#include <smooch/version.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <iostream>
#include <string>
#include <thread>

namespace {

int fail(const std::string& what)
{
    std::cerr << "consumer FAILED: " << what << "\n";
    return 1;
}

}  // namespace

int main()
{
    smooch::message_post m{.role = smooch::role::app_maker, .type = smooch::message_type::text, .text = "hi"};
    auto back = smooch::parse<smooch::message_post>(smooch::serialize(m));
    if (!(back == m)) return fail("model round trip");

    // The mock's TLS material generator (OpenSSL through the installed target).
    if (smooch::mock::generate_tls().ca_pem.find("BEGIN CERTIFICATE") == std::string::npos) return fail("generate_tls");

    // A plain-HTTP mock on 127.0.0.1, port 0; no keys, so auth is off.
    boost::asio::io_context io(1);
    smooch::mock::server_params p;
    smooch::mock::server srv(io.get_executor(), p);
    srv.start();
    const unsigned short port = srv.port();
    if (port == 0) return fail("port 0 after start()");
    if (srv.base_url() != "http://127.0.0.1:" + std::to_string(port)) return fail("base_url " + srv.base_url());
    std::thread server_thread([&] { io.run(); });

    std::string reply;
    try {
        boost::asio::io_context cio;
        boost::asio::ip::tcp::socket s(cio);
        s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
        const std::string req = "GET /v1.1/apps/app_1/appusers/u/messages HTTP/1.1\r\nHost: localhost\r\n"
                                "Connection: close\r\n\r\n";
        boost::asio::write(s, boost::asio::buffer(req));
        boost::system::error_code ec;
        boost::asio::read(s, boost::asio::dynamic_buffer(reply), ec);  // until the server closes
    } catch (const std::exception& e) {
        srv.stop();
        server_thread.join();
        return fail(std::string("request: ") + e.what());
    }
    // smooch::dispatch: three lines, delivered once each, recorded in a journal.
    const auto journal = std::filesystem::temp_directory_path() / ("consumer-" + std::to_string(port) + ".journal");
    std::optional<smooch::dispatch::run_summary> summary;
    try {
        boost::asio::io_context dio(1);
        smooch::client_params cp;
        cp.base_url = srv.base_url();
        smooch::client client(dio.get_executor(), cp);
        std::vector<std::string> lines;
        for (int i = 1; i <= 3; ++i)
            lines.push_back(R"({"user":"d)" + std::to_string(i) +
                            R"(","message":{"role":"appMaker","type":"text","text":"hi"}})");
        auto src = smooch::dispatch::range_source("consumer-campaign", lines);
        smooch::dispatch::dispatch_params dp;
        dp.journal = journal.string();
        dp.default_app = "app_1";
        smooch::dispatch::dispatcher d(client, dp);
        boost::asio::co_spawn(
            dio, [&]() -> boost::asio::awaitable<void> { summary = co_await d.run(*src); },
            [](std::exception_ptr e) {
                if (e) std::rethrow_exception(e);
            });
        dio.run();
    } catch (const std::exception& e) {
        srv.stop();
        server_thread.join();
        return fail(std::string("dispatch: ") + e.what());
    }
    for (const char* ext : {"", "-wal", "-shm", ".lock"}) std::filesystem::remove(journal.string() + ext);
    srv.stop();
    server_thread.join();  // returns once the listener and every connection are closed
    if (!summary || summary->end != smooch::dispatch::run_end::completed || summary->counters.delivered != 3)
        return fail("dispatch did not deliver the three lines");

    if (reply.rfind("HTTP/1.1 404 ", 0) != 0 || reply.find("conversation_not_found") == std::string::npos)
        return fail("unexpected reply: " + reply);
    if (srv.record().operation_count("get_messages") != 0 || srv.record().routed.at("get_messages") != 1 ||
        srv.record().operation_count("post_message") != 3)
        return fail("record");
    std::cout << "consumer OK with smooch " << smooch::version() << ": " << smooch::serialize(m)
              << "; smooch-mock answered on port " << port << "; smooch::dispatch delivered 3 lines\n";
    return 0;
}

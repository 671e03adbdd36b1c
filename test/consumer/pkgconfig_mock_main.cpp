// SPDX-License-Identifier: BSL-1.0
// Built by test/consumer/run.cmake with `c++ pkgconfig_mock_main.cpp $(pkg-config --cflags --libs smooch-mock)` and
// nothing else: an in-process smooch-mock on an OS-chosen port answers one plain-HTTP request and stops.
#include <smooch/mock/server.hpp>
#include <smooch/version.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <iostream>
#include <string>
#include <thread>

int main()
{
    boost::asio::io_context io(1);
    smooch::mock::server srv(io.get_executor(), smooch::mock::server_params{});
    srv.start();
    std::thread server_thread([&] { io.run(); });
    std::string reply;
    try {
        boost::asio::io_context cio;
        boost::asio::ip::tcp::socket s(cio);
        s.connect({boost::asio::ip::make_address("127.0.0.1"), srv.port()});
        const std::string req = "GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        boost::asio::write(s, boost::asio::buffer(req));
        boost::system::error_code ec;
        boost::asio::read(s, boost::asio::dynamic_buffer(reply), ec);  // until the server closes
    } catch (const std::exception& e) {
        reply = e.what();
    }
    srv.stop();
    server_thread.join();
    if (reply.rfind("HTTP/1.1 404 ", 0) != 0) {
        std::cerr << "pkg-config mock consumer FAILED: " << reply << "\n";
        return 1;
    }
    std::cout << "pkg-config mock consumer OK with smooch " << SMOOCH_VERSION_STRING << "\n";
    return 0;
}

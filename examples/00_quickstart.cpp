// SPDX-License-Identifier: BSL-1.0
// smooch-cpp in one file: post a message. SMOOCH_URL, SMOOCH_KEY_ID, SMOOCH_SECRET (and SMOOCH_CA for a
// smooch-mock's CA) choose the server; build with: find_package(smooch) + target_link_libraries(app smooch::smooch).
#include <smooch/conversation_api.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

std::string env(const char* name, const char* fallback = "")
{
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

int main()
{
    boost::asio::io_context io;
    smooch::client_params p;
    p.base_url = env("SMOOCH_URL", "https://api.smooch.io");                         // EU: https://api.eu-1.smooch.io
    p.credentials = smooch::basic_auth{env("SMOOCH_KEY_ID"), env("SMOOCH_SECRET")};  // or jwt_credentials{...}
    p.tls.ca_file = env("SMOOCH_CA");                                                // empty: the system's trust store
    smooch::client client{io.get_executor(), p};  // no hidden threads: everything runs on `io`

    int status = 0;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            smooch::conversation_api api{client};
            smooch::message_post msg;  // a named variable: see "g++ 12" below
            msg.role = smooch::role::app_maker;
            msg.type = smooch::message_type::text;
            msg.text = "Hello";
            smooch::message_response r = co_await api.post_message("app_1", "user 7", msg);
            std::cout << "posted " << r.message->id.value_or("?") << "\n";
        },
        [&](std::exception_ptr e) {
            try {
                if (e) std::rethrow_exception(e);
            } catch (const smooch::error& err) {  // code + diagnostics (HTTP status, API error, attempts)
                std::cerr << err.what() << "\n";
                status = 1;
            }
        });
    io.run();
    return status;
}

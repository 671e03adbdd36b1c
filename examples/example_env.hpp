// SPDX-License-Identifier: BSL-1.0
#pragma once
// Shared by the examples: builds client_params from the environment, so every example runs against
// smooch-mock or the real API unchanged:
//   SMOOCH_URL      base URL (default https://api.smooch.io)
//   SMOOCH_KEY_ID   key id   (required)
//   SMOOCH_SECRET   secret   (required)
//   SMOOCH_CA       PEM file of the CA to trust (optional; e.g. smooch-mock --write-ca)
//   SMOOCH_APP_ID   app id   (default app_1)

#include <smooch/client.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

namespace example {

inline std::string env_or(const char* name, const char* fallback)
{
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

inline smooch::client_params params_from_env()
{
    smooch::client_params p;
    p.base_url = env_or("SMOOCH_URL", "https://api.smooch.io");
    auto key = env_or("SMOOCH_KEY_ID", "");
    auto secret = env_or("SMOOCH_SECRET", "");
    if (key.empty() || secret.empty()) {
        std::cerr << "set SMOOCH_KEY_ID and SMOOCH_SECRET (and SMOOCH_URL, SMOOCH_CA for smooch-mock)\n";
        std::exit(2);
    }
    p.credentials = smooch::basic_auth{key, secret};
    p.tls.ca_file = env_or("SMOOCH_CA", "");
    return p;
}

inline std::string app_id() { return env_or("SMOOCH_APP_ID", "app_1"); }

/// Runs `lesson` on a fresh io_context with a client built from the environment. A smooch::error (code plus
/// diagnostics, never credentials) is printed and turns into exit status 1.
inline int run(boost::asio::awaitable<void> (*lesson)(smooch::client&))
{
    boost::asio::io_context io;  // the client runs on your io_context; it starts no thread
    smooch::client client{io.get_executor(), params_from_env()};
    int status = 0;
    boost::asio::co_spawn(io, lesson(client), [&](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& err) {
            std::cerr << err.what() << "\n";
            status = 1;
        }
    });
    io.run();
    return status;
}

}  // namespace example

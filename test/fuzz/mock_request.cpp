// SPDX-License-Identifier: BSL-1.0
// smooch-mock's request path: raw bytes through the server's request parser (mock/request_parser.hpp, as
// mock/server.cpp uses it), into engine::handle(), for each request of the stream (pipelined requests
// included, at most 8). Every request gets a status in 100..599, and a JSON body unless a
// `malformed` fault asked for broken JSON. A fresh engine per input (admin on: faults, reset, rate limits)
// keeps runs reproducible.

#include "mock/request_parser.hpp"

#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    smooch::mock::server_params params;
    params.admin = true;
    smooch::mock::engine eng(params);
    eng.set_base_url("http://127.0.0.1:4433");

    std::string_view in(reinterpret_cast<const char*>(data), size);
    smooch::mock::http_response out;
    for (int i = 0; i < 8 && !in.empty(); ++i) {
        smooch::mock::detail::request_parser p;
        smooch::mock::detail::configure(p, params);
        boost::system::error_code ec;
        const std::size_t n = p.put(boost::asio::buffer(in.data(), in.size()), ec);
        if (n > in.size()) std::abort();
        in.remove_prefix(n);
        if (!ec && !p.is_done()) p.put_eof(ec);  // the stream ends here
        if (ec || !p.is_done()) return 0;        // the server answers 400/413/431 and closes
        auto& req = p.get();
        eng.handle(smooch::mock::detail::engine_request(req, std::chrono::steady_clock::now()), out);
        if (out.status < 100 || out.status > 599) {
            std::fprintf(stderr, "status %u\n", out.status);
            std::abort();
        }
        if (out.fault != smooch::mock::fault_action::malformed && !out.body.empty()) {
            boost::system::error_code jec;
            (void)boost::json::parse(out.body, jec);
            if (jec) {
                std::fprintf(stderr, "%u with a body that is not JSON: %s\n", out.status, out.body.c_str());
                std::abort();
            }
        }
        if (!req.keep_alive()) return 0;
    }
    return 0;
}

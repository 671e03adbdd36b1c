// SPDX-License-Identifier: BSL-1.0
#pragma once
// How smooch-mock reads a request: the parser's limits and the engine's view of the parsed request. Shared by
// mock/server.cpp and the mock_request fuzz target (test/fuzz/), so the fuzzer parses exactly as the server does.

#include <smooch/mock/engine.hpp>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace smooch::mock::detail {

using request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

/// Header and body limits from `params` (server_params::header_limit, body_limit); eager, so a body that
/// arrived with the head is parsed in the same call.
inline void configure(request_parser& p, const server_params& params)
{
    p.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(params.header_limit, UINT32_MAX)));
    p.body_limit(params.body_limit);
    p.eager(true);
}

/// The engine's view of a complete request (views into `req`, valid while it lives).
inline http_request engine_request(const request_parser::value_type& req, std::chrono::steady_clock::time_point arrival)
{
    http_request in;
    in.method = req.method_string();
    in.target = req.target();
    if (auto it = req.find(boost::beast::http::field::authorization); it != req.end()) in.authorization = it->value();
    in.body = req.body();
    in.arrival = arrival;
    return in;
}

}  // namespace smooch::mock::detail

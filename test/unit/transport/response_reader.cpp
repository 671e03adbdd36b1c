// SPDX-License-Identifier: BSL-1.0
// response_reader, fed bytes as the exchange feeds it: what a final response looks like after interim ones,
// and what a broken status line gives.

#include <boost/test/unit_test.hpp>

#include "transport/response_reader.hpp"

#include <boost/beast/http/error.hpp>

#include <string_view>

using namespace smooch;
using namespace smooch::detail;

namespace {

/// Feeds `wire` in one piece, then the end of the stream if the response is not complete.
error_code feed(response_reader& r, std::string_view wire)
{
    error_code ec;
    const std::size_t n = r.put(boost::asio::buffer(wire.data(), wire.size()), ec);
    if (ec == boost::beast::http::error::need_more) ec = {};
    if (!ec && !r.done() && n == wire.size()) r.put_eof(ec);
    return ec;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(response_framing)

BOOST_AUTO_TEST_CASE(interim_responses_are_skipped)
{
    response_reader r(4096, 4096);
    const auto ec = feed(r, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                            "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(r.done());
    BOOST_TEST(r.status() == 201u);
    BOOST_TEST(r.body() == "{}");
    BOOST_TEST(r.interim() == 2u);
}

BOOST_AUTO_TEST_CASE(status_outside_100_to_599_is_a_bad_response)
{
    // Found by fuzzing (test/fuzz/regressions/response_reader/status-051): Beast reads any three digits, and a
    // "051" after a 103 was a final response; classify() took it for a definitive 4xx-like refusal.
    for (std::string_view status : {"051", "000", "099", "600", "999"}) {
        response_reader r(4096, 4096);
        const auto ec = feed(r, "HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 " + std::string(status) +
                                    " Processing\r\nContent-Length: 2\r\n\r\n{}");
        BOOST_TEST((ec == client_errc::bad_response), status << ": " << ec.message());
    }
    for (std::string_view status : {"100", "599"}) {  // the ends of the range are not refused
        response_reader r(4096, 4096);
        const auto ec = feed(r, "HTTP/1.1 " + std::string(status) + " X\r\nContent-Length: 2\r\n\r\n{}");
        BOOST_TEST(!(ec == client_errc::bad_response), status);
    }
}

BOOST_AUTO_TEST_SUITE_END()

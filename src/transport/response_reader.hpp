// SPDX-License-Identifier: BSL-1.0
#pragma once
// Framing one HTTP/1.1 response out of a byte stream, sans-I/O: the exchange feeds it what it reads, a unit test
// and a fuzz target feed it bytes. Interim 1xx responses other than 101 are skipped (RFC 9110 §15.2: a client
// must be ready for them, e.g. a 100 Continue before the 201), and the final response's status, Retry-After and
// body are kept, with no header-field container and its per-field allocations. Framing, keep-alive and limits
// are Beast's parser's.

#include <smooch/error.hpp>

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <memory>
#include <string>

namespace smooch::detail {

class response_reader {
public:
    /// Interim responses accepted before the final one; more is a broken server (bad_response).
    static constexpr unsigned max_interim = 16;

    /// `header_limit` bounds each response head, `body_limit` the final body (response_too_large beyond).
    response_reader(std::size_t header_limit, std::size_t body_limit);
    ~response_reader();
    response_reader(const response_reader&) = delete;
    response_reader& operator=(const response_reader&) = delete;

    /// Parses what it can of `data` and returns how many bytes it used. `ec`: empty (call again with the rest,
    /// or once done()), boost::beast::http::error::need_more (feed more bytes), or a failure: Beast's parse
    /// errors, client_errc::bad_response for a status outside 100..599, a 101 or too many interim responses.
    std::size_t put(boost::asio::const_buffer data, error_code& ec);
    /// The peer closed: completes a body that runs to the end of the stream, else sets `ec`.
    void put_eof(error_code& ec);

    bool done() const noexcept;       ///< The final response is complete.
    bool got_some() const noexcept;   ///< Some bytes of a response were parsed.
    bool keep_alive() const noexcept; ///< The final response allows the connection to be reused.

    unsigned status() const noexcept;
    const std::string& retry_after() const noexcept;  ///< Raw Retry-After of the final response; empty if none.
    std::string& body() noexcept;
    unsigned interim() const noexcept;                ///< Interim (1xx) responses skipped.

private:
    class parser;
    std::size_t header_limit_, body_limit_;
    std::unique_ptr<parser> p_;
    unsigned interim_ = 0;
};

} // namespace smooch::detail

// SPDX-License-Identifier: BSL-1.0
// One HTTP/1.1 exchange on an open connection: the request written by hand into one buffer, the response read
// by a Beast parser that keeps only what the client uses.

#include "transport/https_connector.hpp"

#include "pipeline/retry_after.hpp"
#include "transport/response_reader.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>

namespace smooch::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t plain_read_size = 16 * 1024;
constexpr std::size_t tls_read_size = 17 * 1024;  // a whole TLS record (16 KiB of data plus its overhead)
constexpr unsigned max_empty_reads = 100000;      // reads that yield no plaintext (tickets, key updates)

/// One SSL_read into the response buffer: plaintext (`n` bytes), or what OpenSSL needs first. Anything
/// OpenSSL wrote meanwhile (a KeyUpdate answer, an alert) is left in c.cipher.out for the caller to send.
tls_step decrypt(connection& c, std::size_t& n, error_code& ec)
{
    drop_stale_tls_errors();
    n = 0;
    const auto space = c.buffer.prepare(tls_read_size);
    const tls_step step = tls_step_of(c.ssl, c.cipher, SSL_read_ex(c.ssl, space.data(), space.size(), &n), ec);
    if (step == tls_step::done) c.buffer.commit(n);
    return step;
}

}  // namespace

asio::awaitable<bool> https_connector::exchange(connection& c, const outgoing_request& req,
                                                const std::string& authorization, time_point deadline, bool reused,
                                                attempt_result& r)
{
    // The request is written by hand into one reused buffer: one TLS record for head and body, and no
    // per-request header-field allocations (Beast's serializer was a fifth of the client's CPU).
    // Every piece is safe to splice: the target is percent-encoded, the credentials were checked.
    static constexpr std::string_view verbs[] = {"GET ", "POST ", "DELETE "};
    std::string& w = c.wire;
    w.clear();
    w += verbs[static_cast<int>(req.method)];
    w += base_.path_prefix;
    w += req.target;
    w += " HTTP/1.1\r\nHost: ";
    w += base_.host_header;
    w += "\r\nUser-Agent: ";
    w += user_agent_;
    w += "\r\nAccept: application/json\r\n";
    if (!authorization.empty()) {
        w += "Authorization: ";
        w += authorization;
        w += "\r\n";
    }
    if (req.json_body) w += "Content-Type: application/json\r\n";
    if (req.method == http_method::post || !req.body.empty()) {
        w += "Content-Length: ";
        w += std::to_string(req.body.size());
        w += "\r\n";
    }
    w += "\r\n";
    w += req.body;

    const auto limit = std::min(std::chrono::steady_clock::now() + params_.timeouts.attempt, deadline);
    auto timeout_error = [&] {
        return limit == deadline ? error_code(client_errc::deadline_exceeded)
                                 : error_code(client_errc::attempt_timeout);
    };
    c.arm(limit);
    struct disarm_on_exit {
        connection& c;
        ~disarm_on_exit() { c.disarm(); }
    } disarm_guard{c};

    error_code wec;
    std::size_t written = 0;
    if (c.ssl) {
        drop_stale_tls_errors();
        std::size_t n = 0;
        if (const int rc = SSL_write_ex(c.ssl, w.data(), w.size(), &n); rc != 1) {
            r.ec = tls_error(c.ssl, rc, c.cipher.eof);  // nothing was sent
            r.stale = reused;
            r.request_sent = false;
            co_return false;
        }
        std::tie(wec, written) = co_await asio::async_write(c, asio::buffer(c.cipher.out), use_tuple);
        c.cipher.out.clear();
    } else {
        std::tie(wec, written) = co_await asio::async_write(c, asio::buffer(w), use_tuple);
    }
    const bool timed_out = wec && c.expired();
    const bool aborted = wec == asio::error::operation_aborted || timed_out;
    if (wec && (written == 0 || aborted)) {
        r.stale = reused && written == 0 && !aborted;
        r.request_sent = written > 0 || !r.stale;
        r.ec = timed_out ? timeout_error() : wec;
        co_return false;
    }
    // A server may answer before reading the whole body (e.g. 413) and close: read that answer.
    r.request_sent = true;

    response_reader parser(params_.max_response_header, params_.max_response_body);
    error_code rec;
    std::size_t received = 0;
    // Each round parses what is buffered or reads more (at least one byte, or the end): bounded by the
    // response size limits and the deadline.
    while (!parser.done()) {
        if (c.buffer.size() > 0) {
            c.buffer.consume(parser.put(c.buffer.data(), rec));
            if (rec == http::error::need_more) rec = {};
            if (rec || parser.done()) break;
        }
        // More plaintext: read the socket (http), or decrypt what has arrived and read the socket only when
        // OpenSSL needs more (https). The coroutine's own loops: no nested coroutine frame per read.
        error_code ec;
        std::size_t n = 0;
        if (!c.ssl) {
            std::tie(ec, n) = co_await c.async_read_some(c.buffer.prepare(plain_read_size), use_tuple);
            c.buffer.commit(n);
            if (ec == asio::error::eof) ec = {};
        } else {
            for (unsigned round = 0;; ++round) {
                const tls_step step = decrypt(c, n, ec);
                if (!c.cipher.out.empty()) {
                    auto [fec, sent] = co_await asio::async_write(c, asio::buffer(c.cipher.out), use_tuple);
                    c.cipher.out.clear();
                    if (fec && step != tls_step::failed) ec = fec;
                }
                if (step != tls_step::want_read || ec) break;
                if (round == max_empty_reads) {  // records without data, forever
                    ec = client_errc::bad_response;
                    break;
                }
                auto [rec2, m] = co_await c.async_read_some(c.cipher.in.prepare(tls_read_size), use_tuple);
                if ((ec = c.received_cipher(rec2, m))) break;
            }
        }
        received += n;
        if (ec) {
            rec = ec;
            break;
        }
        if (n == 0) {           // the peer closed: fine only for a body that runs to the end of the stream
            if (c.expired()) {  // no: our deadline shut the socket, the body may be cut short
                rec = asio::error::timed_out;
                break;
            }
            parser.put_eof(rec);
            break;
        }
    }
    if (rec) {
        if (c.expired()) r.ec = timeout_error();
        else if (rec == http::error::body_limit || rec == http::error::header_limit ||
                 rec == http::error::buffer_overflow) {
            r.ec = client_errc::response_too_large;
            r.message = rec.message();
        } else if (rec == http::error::end_of_stream || rec == http::error::partial_message ||
                   rec == asio::error::eof || rec == ssl::error::stream_truncated) {
            r.ec = client_errc::connection_closed;
            r.message = received == 0 ? "no response bytes" : "response cut short";
        } else if (rec.category() == make_error_code(http::error::bad_target).category()) {  // beast's parser errors
            r.ec = client_errc::bad_response;
            r.message = rec.message();
        } else if (rec == client_errc::bad_response) {
            const unsigned s = parser.status();
            r.message = s == 101 ? "101 Switching Protocols, which was not asked for"
                        : s < 100 || s > 599
                            ? "status " + std::to_string(s) + ", outside 100..599"
                            : "more than " + std::to_string(response_reader::max_interim) + " interim (1xx) responses";
            r.ec = rec;
        } else {
            r.ec = rec;
        }
        co_return false;
    }
    r.status = parser.status();
    r.body = std::move(parser.body());
    if (!parser.retry_after().empty()) {  // parsed once, here: the gate and the retry decision both use it
        r.has_retry_after = true;
        r.retry_after = parse_retry_after(parser.retry_after(), std::chrono::system_clock::now());
    }
    // Bytes after the response were never asked for: the connection's framing can no longer be trusted.
    // Over TLS that includes records already received but not yet decrypted; records that carry no data
    // (session tickets, key updates) are fine, and a close_notify ends the connection.
    bool clean = c.buffer.size() == 0;
    if (clean && c.ssl && (c.cipher.in.size() > 0 || SSL_has_pending(c.ssl) == 1)) {
        std::size_t n = 0;
        error_code ignored;
        clean = decrypt(c, n, ignored) == tls_step::want_read;  // not data, the end, or a broken record
    }
    c.buffer.clear();
    // A deadline that fired as the response completed has shut the socket down: answer kept, socket not.
    const bool expired = c.disarm();
    co_return !wec && clean && !expired && parser.keep_alive();
}

}  // namespace smooch::detail

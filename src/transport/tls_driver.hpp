// SPDX-License-Identifier: BSL-1.0
#pragma once
// OpenSSL driven through our own ciphertext buffers: OpenSSL reads and writes two buffers of the connection
// through a BIO of ours, and the connection moves them to and from the socket with Asio. A request then costs
// one SSL_write, one SSL_read per record and the socket operations: no BIO pair, no error-queue sweep around
// every call, no timer per socket operation (Asio's ssl::stream over Beast's tcp_stream spent a fifth of the
// client's instructions there). No Asio here beyond its SSL error category.

#include <smooch/error.hpp>

#include <boost/beast/core/flat_buffer.hpp>

#include <openssl/ssl.h>

#include <cstddef>
#include <string>

namespace smooch::detail {

/// Ciphertext between OpenSSL and the socket.
struct cipher_buffers {
    boost::beast::flat_buffer in;  ///< Received, not yet read by OpenSSL.
    bool eof = false;              ///< The peer closed: once `in` is drained, OpenSSL sees the end of the stream.
    std::string out;               ///< Written by OpenSSL, not yet sent.
};

/// The BIO method that reads `in` and writes `out` of the cipher_buffers set as the BIO's data.
BIO_METHOD* cipher_buffer_bio_method();

/// OpenSSL's SSL_get_error reads the thread's error queue, so it must hold nothing stale when a call fails.
/// Peeking is cheap; sweeping the queue before every call (as Asio's engine does) is not.
void drop_stale_tls_errors();

/// The error of a failed SSL call, in Asio's SSL category (same codes and messages as asio::ssl::stream).
/// `peer_closed`: the socket reached its end, so a failure to read is a truncated stream.
error_code tls_error(SSL* ssl, int rc, bool peer_closed);

/// An OpenSSL internal error, for failures that leave nothing on the error queue.
error_code tls_internal_error();

enum class tls_step { done, want_read, end, failed };

/// What the result `rc` of an SSL call on `ssl` means: done, more ciphertext needed, the peer's close_notify,
/// or a failure (in `ec`). `cipher` is the connection's buffers (their eof decides "more" from "truncated").
tls_step tls_step_of(SSL* ssl, const cipher_buffers& cipher, int rc, error_code& ec);

}  // namespace smooch::detail

// SPDX-License-Identifier: BSL-1.0
#pragma once
// The TLS side of one origin: the SSL_CTX built from tls_params (trust, TLS 1.2+, verification), a new SSL
// object per connection (SNI, host-name or IP check, our cipher-buffer BIO) and session resumption.

#include <smooch/client.hpp>

#include "transport/origin.hpp"
#include "transport/tls_driver.hpp"

#include <boost/asio/ssl/context.hpp>

#include <mutex>

namespace smooch::detail {

class tls_context {
public:
    /// Throws smooch::error(client_errc::invalid_configuration) naming the setting (an unreadable ca_file, a
    /// ca_pem that does not parse).
    tls_context(const tls_params& p, const origin& o);
    ~tls_context();
    tls_context(const tls_context&) = delete;
    tls_context& operator=(const tls_context&) = delete;

    /// A client SSL object over `cipher`, checking the peer's name (or address) and resuming the last session
    /// the server gave us. On failure `ssl` is left null or half set up (the caller frees it).
    error_code start(SSL*& ssl, cipher_buffers& cipher);

private:
    static int ctx_index();
    static int on_new_session(SSL* ssl, SSL_SESSION* s);

    tls_params params_;
    origin base_;
    bool ip_literal_;
    boost::asio::ssl::context ctx_;
    std::mutex mu_;
    SSL_SESSION* session_ = nullptr;  // the latest resumable session (TLS 1.3 tickets arrive after the handshake)
};

}  // namespace smooch::detail

// SPDX-License-Identifier: BSL-1.0
#include "transport/tls_driver.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace smooch::detail {

namespace asio = boost::asio;

BIO_METHOD* cipher_buffer_bio_method()
{
    static BIO_METHOD* const method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "smooch cipher buffers");
        if (!m) throw std::bad_alloc();
        BIO_meth_set_write_ex(m, [](BIO* b, const char* data, std::size_t n, std::size_t* written) {
            BIO_clear_retry_flags(b);
            static_cast<cipher_buffers*>(BIO_get_data(b))->out.append(data, n);
            *written = n;
            return 1;
        });
        BIO_meth_set_read_ex(m, [](BIO* b, char* data, std::size_t n, std::size_t* read) {
            BIO_clear_retry_flags(b);
            auto& c = *static_cast<cipher_buffers*>(BIO_get_data(b));
            *read = 0;
            if (c.in.size() == 0) {
                if (!c.eof) BIO_set_retry_read(b);  // the caller reads the socket and asks again
                return 0;
            }
            n = std::min(n, c.in.size());
            std::memcpy(data, c.in.data().data(), n);
            c.in.consume(n);
            *read = n;
            return 1;
        });
        BIO_meth_set_ctrl(m, [](BIO*, int cmd, long, void*) -> long { return cmd == BIO_CTRL_FLUSH ? 1 : 0; });
        BIO_meth_set_create(m, [](BIO* b) {
            BIO_set_init(b, 1);
            return 1;
        });
        return m;
    }();
    return method;
}

void drop_stale_tls_errors()
{
    if (ERR_peek_error() != 0) ERR_clear_error();
}

error_code tls_internal_error()
{
    return error_code(static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, ERR_R_INTERNAL_ERROR)),
                      asio::error::get_ssl_category());
}

error_code tls_error(SSL* ssl, int rc, bool peer_closed)
{
    const int e = SSL_get_error(ssl, rc);
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (e == SSL_ERROR_ZERO_RETURN) return asio::error::eof;  // close_notify
    if (code != 0 && !(peer_closed && ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING))
        return error_code(static_cast<int>(code), asio::error::get_ssl_category());
    if (peer_closed || e == SSL_ERROR_SYSCALL) return asio::ssl::error::stream_truncated;
    return tls_internal_error();
}

tls_step tls_step_of(SSL* ssl, const cipher_buffers& cipher, int rc, error_code& ec)
{
    if (rc == 1) return tls_step::done;
    if (SSL_get_error(ssl, rc) == SSL_ERROR_WANT_READ && !cipher.eof) return tls_step::want_read;
    ec = tls_error(ssl, rc, cipher.eof);
    if (ec != asio::error::eof) return tls_step::failed;
    ec = {};
    return tls_step::end;
}

}  // namespace smooch::detail

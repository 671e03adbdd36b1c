// SPDX-License-Identifier: BSL-1.0
#include "transport/tls_context.hpp"

#include <boost/asio/ip/address.hpp>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

namespace smooch::detail {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;

[[noreturn]] void bad_tls_config(std::string what)
{
    ERR_clear_error();
    diagnostics d;
    d.message = std::move(what);
    throw error(client_errc::invalid_configuration, std::move(d));
}

bool is_ip_literal(const std::string& host)
{
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

}  // namespace

tls_context::tls_context(const tls_params& p, const origin& o)
    : params_(p), base_(o), ip_literal_(is_ip_literal(o.host)), ctx_(ssl::context::tls_client)
{
    ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    // TLS 1.3 tickets arrive after the handshake; OpenSSL hands each new session to on_new_session.
    SSL_CTX_set_session_cache_mode(ctx_.native_handle(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_set_ex_data(ctx_.native_handle(), ctx_index(), this);  // not app_data: Asio owns that slot
    SSL_CTX_sess_set_new_cb(ctx_.native_handle(), &tls_context::on_new_session);
    if (params_.insecure_skip_verify) {
        ctx_.set_verify_mode(ssl::verify_none);
        return;
    }
    ctx_.set_verify_mode(ssl::verify_peer);
    error_code ec;
    if (!params_.ca_file.empty()) {
        if (ctx_.load_verify_file(params_.ca_file, ec); ec)
            bad_tls_config("tls.ca_file " + params_.ca_file + ": " + ec.message());
    } else {
        ctx_.set_default_verify_paths(ec);  // no system store is not fatal: verification will then fail
    }
    if (!params_.ca_pem.empty()) {
        if (ctx_.add_certificate_authority(asio::buffer(params_.ca_pem), ec); ec)
            bad_tls_config("tls.ca_pem: " + ec.message());
    }
}

tls_context::~tls_context()
{
    if (session_) SSL_SESSION_free(session_);
}

error_code tls_context::start(SSL*& ssl_out, cipher_buffers& cipher)
{
    drop_stale_tls_errors();
    SSL* s = ssl_out = SSL_new(ctx_.native_handle());
    BIO* bio = s ? BIO_new(cipher_buffer_bio_method()) : nullptr;
    if (!bio) {
        const auto code = ERR_get_error();
        ERR_clear_error();
        return error_code(static_cast<int>(code), asio::error::get_ssl_category());
    }
    BIO_set_data(bio, &cipher);
    SSL_set_bio(s, bio, bio);  // one reference for both directions, owned by the SSL object
    SSL_set_connect_state(s);
    SSL_set_read_ahead(s, 1);  // OpenSSL takes whole buffered records, not a header then a body
    if (!ip_literal_) SSL_set_tlsext_host_name(s, base_.host.c_str());
    if (!params_.insecure_skip_verify) {
        X509_VERIFY_PARAM* vp = SSL_get0_param(s);
        X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        const int ok = ip_literal_ ? X509_VERIFY_PARAM_set1_ip_asc(vp, base_.host.c_str())
                                   : X509_VERIFY_PARAM_set1_host(vp, base_.host.c_str(), base_.host.size());
        if (ok != 1) {
            ERR_clear_error();
            return tls_internal_error();
        }
    }
    // Each connection resumes from its own copy: OpenSSL updates the session a connection resumed from
    // (TLS 1.3 tickets arrive during SSL_read), and connections run on different threads.
    std::lock_guard lk(mu_);
    if (SSL_SESSION* own = session_ ? SSL_SESSION_dup(session_) : nullptr) {
        SSL_set_session(s, own);  // takes its own reference
        SSL_SESSION_free(own);
    }
    return {};
}

int tls_context::ctx_index()
{
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

int tls_context::on_new_session(SSL* ssl, SSL_SESSION* s)
{
    auto* self = static_cast<tls_context*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index()));
    if (!SSL_SESSION_is_resumable(s)) return 0;
    std::lock_guard lk(self->mu_);
    if (self->session_) SSL_SESSION_free(self->session_);
    self->session_ = s;
    return 1;  // we keep the reference
}

}  // namespace smooch::detail

// SPDX-License-Identifier: BSL-1.0
// generate_tls(): a throw-away CA and a server certificate for smooch-mock (OpenSSL 3, no Asio).

#include <smooch/mock/server.hpp>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <memory>
#include <stdexcept>

namespace smooch::mock {
namespace {

template <class T, void (*F)(T*)>
struct deleter {
    void operator()(T* p) const noexcept { F(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO, BIO_free_all>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using bn_ptr = std::unique_ptr<BIGNUM, deleter<BIGNUM, BN_free>>;

[[noreturn]] void fail(const char* what) { throw std::runtime_error(std::string("generate_tls: ") + what); }

void check(int ok, const char* what)
{
    if (ok <= 0) fail(what);
}

pkey_ptr make_key()
{
    pkey_ptr k{EVP_EC_gen("P-256")};
    if (!k) fail("EC key generation failed");
    return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    ext_ptr ext{X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str())};
    if (!ext) fail("bad certificate extension");
    check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

x509_ptr make_cert(EVP_PKEY* key, const char* cn, X509* issuer, long days)
{
    x509_ptr x{X509_new()};
    if (!x) fail("X509_new");
    check(X509_set_version(x.get(), 2), "X509_set_version");
    // Random 63-bit serial: distinct certificates per run, so clients never confuse cached ones.
    unsigned char rnd[8];
    check(RAND_bytes(rnd, sizeof rnd), "RAND_bytes");
    rnd[0] &= 0x7F;
    bn_ptr bn{BN_bin2bn(rnd, sizeof rnd, nullptr)};
    if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x.get()))) fail("serial");
    // Valid from an hour ago: tolerates clock skew between processes/containers.
    X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), days * 24 * 3600);
    X509_NAME* name = X509_get_subject_name(x.get());
    check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("smooch-mock"), -1,
                                     -1, 0),
          "subject");
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0),
          "subject");
    check(X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name), "issuer");
    check(X509_set_pubkey(x.get(), key), "X509_set_pubkey");
    return x;
}

std::string to_pem(X509* x)
{
    bio_ptr b{BIO_new(BIO_s_mem())};
    check(PEM_write_bio_X509(b.get(), x), "PEM_write_bio_X509");
    char* data = nullptr;
    long n = BIO_get_mem_data(b.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::string to_pem(EVP_PKEY* k)
{
    bio_ptr b{BIO_new(BIO_s_mem())};
    check(PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr), "PEM_write_bio_PrivateKey");
    char* data = nullptr;
    long n = BIO_get_mem_data(b.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

bool is_ip(const std::string& s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

tls_material generate_tls(const std::vector<std::string>& names)
{
    if (names.empty()) fail("at least one name is needed");
    std::string san;
    for (auto& n : names) {
        if (n.empty() || n.find(',') != std::string::npos) fail("invalid name");
        if (!san.empty()) san += ',';
        san += (is_ip(n) ? "IP:" : "DNS:") + n;
    }

    auto ca_key = make_key();
    auto ca = make_cert(ca_key.get(), "smooch-mock test CA", nullptr, 3650);
    add_ext(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_ext(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
    add_ext(ca.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
    check(X509_sign(ca.get(), ca_key.get(), EVP_sha256()), "X509_sign (CA)");

    auto key = make_key();
    auto cert = make_cert(key.get(), names.front().c_str(), ca.get(), 365);
    add_ext(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment");
    add_ext(cert.get(), ca.get(), NID_ext_key_usage, "serverAuth");
    add_ext(cert.get(), ca.get(), NID_subject_key_identifier, "hash");
    add_ext(cert.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
    add_ext(cert.get(), ca.get(), NID_subject_alt_name, san);
    check(X509_sign(cert.get(), ca_key.get(), EVP_sha256()), "X509_sign (server)");

    return tls_material{to_pem(ca.get()), to_pem(cert.get()), to_pem(key.get())};
}

}  // namespace smooch::mock

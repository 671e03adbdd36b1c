// SPDX-License-Identifier: BSL-1.0
// client_params::base_url, checked once at construction.

#include "transport/origin.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>

namespace smooch::detail {

origin parse_base_url(const std::string& url, diagnostics& diag, error_code& ec)
{
    origin o;
    auto fail = [&](std::string why) {
        ec = client_errc::invalid_url;
        diag.message = "base_url: " + why;
        return o;
    };
    auto u = boost::urls::parse_absolute_uri(url);
    if (!u) return fail("not an absolute URL");
    if (u->has_userinfo()) return fail("must not contain credentials; use client_params::credentials");
    if (u->has_query() || u->has_fragment()) return fail("must not have a query or fragment");
    const auto scheme = u->scheme();
    if (scheme == "https") o.tls = true;
    else if (scheme == "http") o.tls = false;
    else return fail("scheme must be https (or http for a loopback host)");
    o.host = u->encoded_host().decode();
    if (u->host_type() == boost::urls::host_type::ipv6) o.host = u->host_ipv6_address().to_string();
    if (o.host.empty()) return fail("missing host");
    // Percent-decoded, the host goes to the resolver and TLS (SNI, certificate name) as a C string.
    for (const char c : o.host)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            return fail("host contains a control character, space or NUL");
    o.port = u->has_port() ? std::string(u->port()) : (o.tls ? "443" : "80");
    if (o.port.empty() || o.port.size() > 5 || std::stoul(o.port) == 0 || std::stoul(o.port) > 65535)
        return fail("invalid port");
    if (!o.tls) {
        error_code aec;
        auto addr = boost::asio::ip::make_address(o.host, aec);
        bool loopback = (!aec && addr.is_loopback()) || o.host == "localhost";
        if (!loopback) return fail("http:// is only allowed for loopback hosts; use https");
    }
    o.host_header = std::string(u->encoded_host_and_port());
    std::string path(u->encoded_path());
    // After an authority the path is empty or starts with '/'; anything else is what Boost.URL leaves of an
    // authority it stopped reading early ("host:44x3"), which would end up in the request line.
    if (!path.empty() && path.front() != '/') return fail("invalid host or port");
    while (!path.empty() && path.back() == '/') path.pop_back();
    o.path_prefix = path;
    return o;
}

}  // namespace smooch::detail

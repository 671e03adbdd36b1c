// SPDX-License-Identifier: BSL-1.0
// parse_base_url(): any string is a usable origin or invalid_url with a message, never a crash.

#include "transport/origin.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string url(reinterpret_cast<const char*>(data), size);
    smooch::diagnostics diag;
    smooch::error_code ec;
    auto o = smooch::detail::parse_base_url(url, diag, ec);
    if (ec) {
        if (ec != smooch::client_errc::invalid_url || diag.message.empty()) std::abort();
        return 0;
    }
    // What the transport relies on: a host and port to connect to, a Host header, a prefix without a
    // trailing slash.
    if (o.host.empty() || o.port.empty() || o.host_header.empty()) {
        std::fprintf(stderr, "accepted %s with an empty host or port\n", url.c_str());
        std::abort();
    }
    if (!o.path_prefix.empty() && (o.path_prefix.front() != '/' || o.path_prefix.back() == '/')) {
        std::fprintf(stderr, "accepted %s with path prefix '%s'\n", url.c_str(), o.path_prefix.c_str());
        std::abort();
    }
    // The host goes to the resolver and to SNI / certificate checks as a C string, the others into the request
    // head: no control character, space or NUL may survive.
    for (const std::string* s : {&o.host, &o.host_header, &o.path_prefix, &o.port})
        for (const char ch : *s)
            if (const auto c = static_cast<unsigned char>(ch); c <= 0x20 || c == 0x7f) {
                std::fprintf(stderr, "accepted %s with control byte 0x%02x in '%s'\n", url.c_str(), c, s->c_str());
                std::abort();
            }
    return 0;
}

// SPDX-License-Identifier: BSL-1.0
#pragma once
// Where the client connects: client_params::base_url parsed and checked.

#include <smooch/error.hpp>

#include <string>

namespace smooch::detail {

struct origin {
    bool tls = true;
    std::string host;         ///< Without brackets for IPv6.
    std::string port;         ///< Always set ("443" by default).
    std::string host_header;  ///< As sent in Host:.
    std::string path_prefix;  ///< e.g. "" or "/proxy", no trailing slash.
};

/// Parses and checks a base URL (https, or http for a loopback host only). On failure sets `ec`
/// (client_errc::invalid_url) and diag.message ("base_url: ...").
origin parse_base_url(const std::string& url, diagnostics& diag, error_code& ec);

}  // namespace smooch::detail

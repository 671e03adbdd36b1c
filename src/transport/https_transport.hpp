// SPDX-License-Identifier: BSL-1.0
#pragma once
// The production transport: HTTP/1.1 over TLS (or plain, for loopback) to one origin, through a pool.

#include <smooch/client.hpp>

#include "common/counters.hpp"
#include "transport/origin.hpp"
#include "transport/transport.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>

namespace smooch::detail {

/// Throws smooch::error(invalid_configuration) for unusable TLS settings. `stats` must outlive the transport.
std::unique_ptr<transport> make_https_transport(const client_params& p, const origin& o, atomic_counters& stats);

}  // namespace smooch::detail

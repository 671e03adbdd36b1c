// SPDX-License-Identifier: BSL-1.0
#pragma once
// A client's internals: the composition root of the layers (docs/architecture.md). Shared by the client object
// and every call in flight, so the client may be destroyed while calls finish.

#include <smooch/client.hpp>

#include "common/counters.hpp"
#include "pipeline/pipeline.hpp"
#include "transport/origin.hpp"
#include "transport/transport.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>

namespace smooch::detail {

struct client_impl {
    client_impl(boost::asio::any_io_executor ex, client_params p);

    boost::asio::any_io_executor executor;
    client_params params;
    origin base;
    atomic_counters stats;
    std::unique_ptr<transport> net;
    std::unique_ptr<pipeline> calls;  // declared after net: destroyed first
};

/// Reaches a client's internals from the library's other translation units (and white-box tests) without a
/// public accessor.
struct access {
    static const std::shared_ptr<client_impl>& impl(const client& c) noexcept { return c.impl_; }
};

}  // namespace smooch::detail

// SPDX-License-Identifier: BSL-1.0
#pragma once
// The client's counters (smooch::counters), updated by the pipeline and the transport from any thread.

#include <smooch/client.hpp>

#include <atomic>
#include <cstdint>

namespace smooch::detail {

struct atomic_counters {
    std::atomic<std::uint64_t> requests{0}, attempts{0}, succeeded{0}, failed{0}, connections_opened{0},
        connections_reused{0}, connections_discarded{0}, tls_resumed{0}, pool_waits{0}, stale_replays{0},
        retries_connect{0}, retries_throttled{0}, retries_server_error{0}, retries_transport{0}, responses_429{0},
        gate_waits{0}, gate_wait_ms{0};
    smooch::counters snapshot() const;
};

}  // namespace smooch::detail

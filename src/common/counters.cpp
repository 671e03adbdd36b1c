// SPDX-License-Identifier: BSL-1.0
#include "common/counters.hpp"

namespace smooch::detail {

smooch::counters atomic_counters::snapshot() const
{
    smooch::counters c;
    c.requests = requests;
    c.attempts = attempts;
    c.succeeded = succeeded;
    c.failed = failed;
    c.connections_opened = connections_opened;
    c.connections_reused = connections_reused;
    c.connections_discarded = connections_discarded;
    c.tls_resumed = tls_resumed;
    c.pool_waits = pool_waits;
    c.stale_replays = stale_replays;
    c.retries_connect = retries_connect;
    c.retries_throttled = retries_throttled;
    c.retries_server_error = retries_server_error;
    c.retries_transport = retries_transport;
    c.responses_429 = responses_429;
    c.gate_waits = gate_waits;
    c.gate_wait_ms = gate_wait_ms;
    return c;
}

}  // namespace smooch::detail

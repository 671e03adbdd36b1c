// SPDX-License-Identifier: BSL-1.0
#pragma once
// The failure table of docs/retries.md: what one attempt was, and what that means for
// retrying. Pure functions of the attempt.

#include "transport/transport.hpp"

#include <boost/asio/error.hpp>

namespace smooch::detail {

/// What happened to one attempt, as far as retrying cares.
enum class failure_kind {
    none,                  ///< 2xx.
    connect_failed,        ///< Resolve, TCP connect or TLS handshake failed (not a verification failure): nothing sent.
    stale_connection,      ///< A reused connection was found closed before any request byte was written.
    throttled,             ///< 429, or 503 with Retry-After: the server says it did not process the request.
    server_error,          ///< Other 5xx.
    transport_after_send,  ///< Timeout, reset or EOF once request bytes may have reached the server.
    permanent,             ///< Other 4xx, TLS verification failure, invalid request, response too large...
    cancelled,
};

enum class verdict {
    done,          ///< Success: stop.
    replay_free,   ///< Replay at once; does not count as an attempt or against the budget.
    retry,         ///< Retry after a backoff (or Retry-After).
    fail_unknown,  ///< Stop: the outcome is unknown and the operation is not idempotent.
    fail,          ///< Stop: permanent.
};

/// The failure × operation table of docs/retries.md.
constexpr verdict classify(failure_kind f, bool idempotent, bool retry_unknown_outcome) noexcept
{
    switch (f) {
    case failure_kind::none: return verdict::done;
    case failure_kind::stale_connection: return verdict::replay_free;
    case failure_kind::connect_failed:
    case failure_kind::throttled: return verdict::retry;
    case failure_kind::server_error:
    case failure_kind::transport_after_send:
        return idempotent || retry_unknown_outcome ? verdict::retry : verdict::fail_unknown;
    case failure_kind::permanent:
    case failure_kind::cancelled: return verdict::fail;
    }
    return verdict::fail;
}

/// Maps an attempt to the rows of the failure table.
inline failure_kind classify(const attempt_result& r) noexcept
{
    if (r.ec) {
        if (r.ec == boost::asio::error::operation_aborted) return failure_kind::cancelled;
        if (r.ec == client_errc::deadline_exceeded || r.ec == client_errc::pool_queue_full ||
            r.ec == client_errc::client_stopped || r.ec == client_errc::invalid_configuration || r.verify_failed)
            return failure_kind::permanent;
        if (r.stale) return failure_kind::stale_connection;
        if (!r.connected) return failure_kind::connect_failed;
        if (r.ec == client_errc::response_too_large) return failure_kind::permanent;
        return r.request_sent ? failure_kind::transport_after_send : failure_kind::connect_failed;
    }
    if (r.status >= 200 && r.status < 300) return failure_kind::none;
    if (r.status == 429 || (r.status == 503 && r.has_retry_after)) return failure_kind::throttled;
    if (r.status >= 500) return failure_kind::server_error;
    return failure_kind::permanent;
}

/// Whether the server may have applied the request: bytes may have left and no response that rules it out
/// was read (a deadline, cancellation, reset or oversized response after sending), or a 5xx other than a
/// throttle. 2xx, 4xx, 429 and 503 with Retry-After are definitive.
inline bool may_have_applied(const attempt_result& r, failure_kind f) noexcept
{
    if (f == failure_kind::server_error || f == failure_kind::transport_after_send) return true;
    return r.ec && r.request_sent;
}
}  // namespace smooch::detail

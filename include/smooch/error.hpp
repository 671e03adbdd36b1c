// SPDX-License-Identifier: BSL-1.0
#pragma once
// Errors: error_code categories per source, plus diagnostics that explain them.
//
// - client_errc ("smooch.client"): decisions made by this library (validation, parsing, pool, deadline, retry).
// - http_category ("smooch.http"): the server answered with a non-success HTTP status; value == status.
// - Transport failures keep their own categories (asio::error, ssl errors): never disguised as a status.

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace smooch {

using boost::system::error_code;

enum class client_errc {
    invalid_request = 1,     ///< A request failed validation before sending (diagnostics name the field).
    invalid_json,            ///< A body is not well-formed JSON.
    unexpected_json,         ///< JSON is well-formed but a value has the wrong type (diagnostics name the path).
    invalid_url,             ///< The base URL cannot be used (bad syntax, scheme, or http for a non-loopback host).
    invalid_credentials,     ///< Credentials are incomplete (e.g. empty key id) or cannot be signed.
    pool_queue_full,         ///< Too many callers are already waiting for a connection.
    deadline_exceeded,       ///< The overall deadline passed (pool wait, attempts and backoff included).
    attempt_timeout,         ///< One attempt took longer than its per-attempt timeout.
    connect_timeout,         ///< Connecting (TCP + TLS) took longer than the connect timeout.
    outcome_unknown,         ///< The request may have been applied; retrying could duplicate it.
    rate_limited,            ///< Throttling (a 429 pause, the server's Retry-After, the client-side rate limit)
                             ///< would hold the request past the deadline; diagnostics::message says which.
    retry_budget_exhausted,  ///< Retrying stopped because the retry budget is spent.
    response_too_large,      ///< The response headers or body exceeded the configured limit.
    bad_response,            ///< The server's HTTP response could not be parsed.
    connection_closed,       ///< The server closed the connection before a response.
    client_stopped,          ///< The client was shut down while the call was waiting.
    invalid_configuration,   ///< Other client_params cannot be used (e.g. an unreadable CA file or bad CA PEM).
    unreadable_response,     ///< The server answered 2xx (the request was applied: diagnostics::applied) but its
                             ///< body could not be read. Do not send it again.
    unpageable_history,      ///< More messages share one `received` value than a page holds: the API's
                             ///< exclusive before/after bounds cannot page through them (walk_history).
};

const boost::system::error_category& client_category() noexcept;
const boost::system::error_category& http_category() noexcept;

inline error_code make_error_code(client_errc e) noexcept { return {static_cast<int>(e), client_category()}; }
/// An error_code for an HTTP status the server answered with (value is the status, e.g. 404).
inline error_code make_http_error(unsigned status) noexcept { return {static_cast<int>(status), http_category()}; }

/// Why the request pipeline stopped trying.
enum class stop_reason {
    none,  ///< Not set: the call never reached the retry loop.
    success,
    permanent_error,  ///< A 4xx (other than 429), a TLS verification failure, a bad request...
    not_idempotent,   ///< Retrying could duplicate a message (post_message after bytes were sent).
    attempts_exhausted,
    budget_exhausted,
    deadline,
    cancelled,
};
const char* to_string(stop_reason r) noexcept;

/// One attempt as the retry loop saw it.
struct attempt_record {
    error_code ec;                             ///< Empty on success.
    unsigned status = 0;                       ///< HTTP status, 0 if no response was read.
    std::chrono::milliseconds delay_after{0};  ///< Backoff or gate wait before the next attempt (0 for the last).
};

/// What went wrong, in detail. Never contains credentials.
struct diagnostics {
    std::string message;          ///< Client-side explanation, e.g. "messages[3].received: expected number".
    unsigned status = 0;          ///< HTTP status of the last response, 0 if none.
    std::string api_code;         ///< The API error body's `error.code`, if it sent one.
    std::string api_description;  ///< The API error body's `error.description`.
    std::optional<std::chrono::milliseconds> retry_after;  ///< The server's Retry-After, if any.
    bool outcome_unknown = false;                          ///< The request may have been applied by the server.
    /// The server answered 2xx: the request was applied, whatever the call's error (client_errc::
    /// unreadable_response: the answer could not be read). A program re-sending failed posts must skip these.
    bool applied = false;
    smooch::stop_reason stop_reason = stop_reason::none;
    std::vector<attempt_record> attempts;  ///< Every attempt, in order.
    std::string operation;                 ///< e.g. "post_message".

    void clear() { *this = diagnostics{}; }
};

/// Builds a one-line human-readable description of `ec` + `diag`.
std::string describe(const error_code& ec, const diagnostics& diag);

/// The exception thrown by the throwing forms of every operation.
class error : public boost::system::system_error {
public:
    error(const error_code& ec, diagnostics diag);
    const smooch::diagnostics& diagnostics() const noexcept { return diag_; }
    bool outcome_unknown() const noexcept { return diag_.outcome_unknown; }
    unsigned status() const noexcept { return diag_.status; }
    /// describe(code(), diagnostics()).
    const char* what() const noexcept override { return what_.c_str(); }

private:
    smooch::diagnostics diag_;
    std::string what_;
};

/// Throws smooch::error if ec is set.
void throw_on_error(const error_code& ec, const diagnostics& diag);

/// True when `ec` came from an HTTP status (any non-success status the server answered with).
inline bool is_http_error(const error_code& ec) noexcept { return ec.category() == http_category(); }

}  // namespace smooch

template <>
struct boost::system::is_error_code_enum<smooch::client_errc> : std::true_type {};

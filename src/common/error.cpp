// SPDX-License-Identifier: BSL-1.0
#include "detail/http_status.hpp"
#include <smooch/error.hpp>
#include <smooch/version.hpp>

#include <string>

namespace smooch {
namespace {

class client_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "smooch.client"; }
    std::string message(int ev) const override
    {
        switch (static_cast<client_errc>(ev)) {
        case client_errc::invalid_request: return "request failed validation";
        case client_errc::invalid_json: return "malformed JSON";
        case client_errc::unexpected_json: return "JSON value of an unexpected type";
        case client_errc::invalid_url: return "unusable base URL";
        case client_errc::invalid_credentials: return "invalid or incomplete credentials";
        case client_errc::pool_queue_full: return "too many callers waiting for a connection";
        case client_errc::deadline_exceeded: return "deadline exceeded";
        case client_errc::attempt_timeout: return "attempt timed out";
        case client_errc::connect_timeout: return "connect timed out";
        case client_errc::outcome_unknown: return "outcome unknown: the request may have been applied";
        case client_errc::rate_limited: return "rate limited: the app's throttling outlasts the remaining deadline";
        case client_errc::retry_budget_exhausted: return "retry budget exhausted";
        case client_errc::response_too_large: return "response too large";
        case client_errc::bad_response: return "malformed HTTP response";
        case client_errc::connection_closed: return "connection closed before a response";
        case client_errc::client_stopped: return "client stopped";
        case client_errc::invalid_configuration: return "invalid client configuration";
        case client_errc::unreadable_response: return "the server applied the request but its answer is unreadable";
        case client_errc::unpageable_history: return "history cannot be paged: too many messages share a timestamp";
        }
        return "unknown smooch client error " + std::to_string(ev);
    }
};

class http_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "smooch.http"; }
    std::string message(int ev) const override
    {
        std::string s = "HTTP " + std::to_string(ev);
        if (auto r = detail::reason_phrase(static_cast<unsigned>(ev)); !r.empty()) (s += ' ') += r;
        return s;
    }
};

}  // namespace

const boost::system::error_category& client_category() noexcept
{
    static const client_category_impl c;
    return c;
}

const boost::system::error_category& http_category() noexcept
{
    static const http_category_impl c;
    return c;
}

const char* to_string(stop_reason r) noexcept
{
    switch (r) {
    case stop_reason::none: return "none";
    case stop_reason::success: return "success";
    case stop_reason::permanent_error: return "permanent error";
    case stop_reason::not_idempotent: return "not idempotent";
    case stop_reason::attempts_exhausted: return "attempts exhausted";
    case stop_reason::budget_exhausted: return "retry budget exhausted";
    case stop_reason::deadline: return "deadline";
    case stop_reason::cancelled: return "cancelled";
    }
    return "?";
}

std::string describe(const error_code& ec, const diagnostics& d)
{
    std::string s = "smooch";
    if (!d.operation.empty()) (s += ' ') += d.operation;
    s += ": ";
    s += ec.message();
    if (!d.api_code.empty() || !d.api_description.empty()) {
        s += " [";
        s += d.api_code;
        if (!d.api_description.empty()) (s += ": ") += d.api_description;
        s += ']';
    }
    if (!d.message.empty()) (s += ": ") += d.message;
    if (d.retry_after) s += " (Retry-After " + std::to_string(d.retry_after->count()) + " ms)";
    if (d.attempts.size() > 1) s += " after " + std::to_string(d.attempts.size()) + " attempts";
    if (d.stop_reason != stop_reason::none && d.stop_reason != stop_reason::success)
        (s += ", stopped: ") += to_string(d.stop_reason);
    if (d.outcome_unknown && ec != client_errc::outcome_unknown) s += " (outcome unknown)";
    return s;
}

error::error(const error_code& ec, smooch::diagnostics diag)
    : boost::system::system_error(ec), diag_(std::move(diag)), what_(describe(ec, diag_))
{}

void throw_on_error(const error_code& ec, const diagnostics& diag)
{
    if (ec) throw error(ec, diag);
}

const char* version() noexcept { return SMOOCH_VERSION_STRING; }

}  // namespace smooch

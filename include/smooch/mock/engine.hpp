// SPDX-License-Identifier: BSL-1.0
#pragma once
// The sans-I/O core of smooch-mock: routing, auth, rate limit, fault decisions, state and record.
//
// smooch::mock::server feeds it parsed HTTP requests and writes what it returns; it has no socket and no
// executor, so it can also be driven directly (e.g. to unit-test a request handler's logic without TLS).
// Most users want server.hpp instead. Thread-safe: every member function may be called from any thread.

#include <smooch/mock/server.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smooch::mock {

/// A complete HTTP request, as views valid for the duration of engine::handle().
struct http_request {
    std::string_view method;         ///< e.g. "POST".
    std::string_view target;         ///< Raw request-target: "/v1.1/apps/a%20b/appusers/u/messages?after=1.5".
    std::string_view authorization;  ///< Authorization header value, empty if absent.
    std::string_view body;
    std::chrono::steady_clock::time_point arrival = std::chrono::steady_clock::now();
};

/// What to send back. Reused across requests of a connection to keep its buffers.
struct http_response {
    unsigned status = 200;
    std::string body;                         ///< JSON (or deliberately broken JSON for `malformed`).
    std::string retry_after;                  ///< `Retry-After` value; empty = no header.
    std::string allow;                        ///< `Allow` value for 405; empty = no header.
    fault_action fault = fault_action::none;  ///< What the transport must do beyond sending the response.
    std::chrono::milliseconds delay{0};       ///< Wait before answering (or resetting).
};

/// The standard reason phrase of `status` ("Not Found"), or empty for a status it does not know (an empty
/// reason phrase is a valid HTTP/1.1 status line).
std::string_view reason_phrase(unsigned status) noexcept;

/// A webhook in the engine's outbox: the v1.1 payload to POST, and what the record says of it.
struct webhook_delivery {
    std::uint64_t id = 0;                  ///< Delivery number (from 1), shared by its attempts.
    std::string trigger;                   ///< e.g. "message:appUser".
    std::string app_id, user_id;           ///< The conversation's decoded ids.
    std::vector<std::string> message_ids;  ///< `_id`s of the payload's messages.
    bool duplicate = false;                ///< The copy made by webhook_params::duplicate_probability.
    std::string body;                      ///< The JSON payload.
};

namespace detail {
struct engine_state;
}  // namespace detail

class engine {
public:
    /// Validates `p` (throws std::invalid_argument with the field's name).
    explicit engine(const server_params& p);
    ~engine();
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    /// Base of the absolute `next`/`previous` URLs, e.g. "https://127.0.0.1:4433". Set by server::start().
    void set_base_url(std::string url);

    /// Handles one request; `out` is overwritten (its capacity is reused).
    void handle(const http_request& req, http_response& out);

    /// Fills `out` with an API error body: {"error":{"code":CODE,"description":DESCRIPTION}}.
    static void error_response(unsigned status, std::string_view code, std::string_view description,
                               http_response& out);

    record snapshot() const;
    void add_fault(fault_rule rule);
    void clear_faults();
    void set_rate_limit(std::optional<rate_limit> limit);
    void reset();
    bool admin_enabled() const noexcept;

    // Per-connection settings read by the transport (atomics: cheap to read on every request).
    std::size_t close_after_requests() const noexcept;
    void set_close_after_requests(std::size_t n) noexcept;
    std::chrono::milliseconds idle_timeout() const noexcept;
    /// Throws std::invalid_argument unless 0 < t <= 24 h.
    void set_idle_timeout(std::chrono::milliseconds t);

    // Webhooks (docs/mock.md "Webhooks"): the engine decides what to deliver and records each attempt; the
    // transport POSTs. Operations put payloads in the outbox while a webhook is set.
    /// Sets (check_webhook_params(), else std::invalid_argument) or clears the settings; clearing empties the outbox.
    void set_webhook(std::optional<webhook_params> w);
    /// The settings now (nullptr: off). A new pointer whenever they change.
    std::shared_ptr<const webhook_params> webhook() const;
    /// Whether the outbox holds anything (cheap: no lock).
    bool has_webhooks() const noexcept;
    /// Takes up to `max` deliveries from the outbox, oldest first.
    std::vector<webhook_delivery> take_webhooks(std::size_t max);
    /// Whether the attempt about to begin is failed by the fault settings of `w` (fail_first, then
    /// fail_probability drawn from the seeded RNG).
    bool inject_webhook_failure(const webhook_params& w);
    /// Records the end of an attempt (`r` with attempt, start, times, status, outcome and error; the rest is
    /// taken from `d`): a 2xx is `delivered`, 400/401/403/404/406 `rejected`. Returns the wait before the next
    /// attempt, retry_base * 2^(attempt-1), or nullopt when none follows.
    std::optional<std::chrono::milliseconds> webhook_attempt_done(const webhook_params& w, const webhook_delivery& d,
                                                                  webhook_attempt_record r);

private:
    std::unique_ptr<detail::engine_state> s_;
};

}  // namespace smooch::mock

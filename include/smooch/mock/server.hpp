// SPDX-License-Identifier: BSL-1.0
#pragma once
// smooch-mock: a stateful, Smooch-compatible (REST v1.1 Conversation API) server for tests.
//
// It serves the six Conversation API operations with their status codes and bodies, keeps messages per app
// and user, checks Basic and JWT (HS256) credentials, can rate limit per app, injects faults on demand and
// records what it processed so that a test can prove nothing was lost and nothing duplicated.
//
//     boost::asio::io_context io;
//     smooch::mock::server_params p;
//     p.tls = smooch::mock::generate_tls();           // trust p.tls->ca_pem in the client
//     p.keys.push_back({"app_key", "secret", "app_1"});
//     smooch::mock::server srv{io.get_executor(), p};
//     srv.start();                                    // srv.base_url() == "https://127.0.0.1:<port>"
//     srv.add_fault(smooch::mock::parse_fault("status=503,retry_after=1,count=1,route=post_message"));
//     ... run the client against srv.base_url() on `io` ...
//     auto rec = srv.record();                        // what reached the server, per app and user
//
// Every rule of the server (routes, state, auth, faults, choices where the API reference is silent) is
// documented in docs/mock.md.

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smooch::mock {

// ---------------------------------------------------------------------------------------------------------
// TLS

/// PEM-encoded TLS material: the CA that signed the server certificate, the certificate and its key.
struct tls_material {
    std::string ca_pem;    ///< The CA certificate clients must trust (empty if the certificate is self-issued).
    std::string cert_pem;  ///< Server certificate (optionally followed by intermediates).
    std::string key_pem;   ///< Server private key (PKCS#8 PEM).
};

/// Generates a fresh CA and a server certificate signed by it (EC P-256, SHA-256, valid from one hour ago
/// for one year). `names` become subjectAltNames: entries that parse as IPv4/IPv6 addresses become IP SANs,
/// everything else a DNS SAN. Throws std::runtime_error if OpenSSL fails or `names` is empty.
tls_material generate_tls(const std::vector<std::string>& names = {"localhost", "127.0.0.1", "::1"});

// ---------------------------------------------------------------------------------------------------------
// Credentials and rate limits

/// An API key the server accepts, through Basic auth (key_id:secret) or as the `kid` of an HS256 JWT.
struct api_key {
    std::string key_id;                 ///< e.g. "app_5963c0d6..." or "act_..."; the Basic user name / JWT kid.
    std::string secret;                 ///< Basic password / JWT HMAC key.
    std::optional<std::string> app_id;  ///< App the key belongs to (app key); nullopt = account key, any app.
};

/// Token bucket applied per app id (every route of one app shares a bucket).
struct rate_limit {
    double requests_per_second = 10.0;  ///< Refill rate, tokens per second. Must be > 0.
    double burst = 10.0;                ///< Bucket capacity (and initial fill), in requests. Must be >= 1.
};

// ---------------------------------------------------------------------------------------------------------
// Faults

/// What a fault rule does to a matching request. See docs/mock.md "Faults" for the exact wire behaviour.
enum class fault_action {
    none,       ///< Only `delay` (if any): the request is processed and answered normally.
    status,     ///< Answer `status` with the API error body and, if set, `Retry-After`.
    reset,      ///< Read the request, then reset the connection (TCP RST) without any response.
    close,      ///< Send the normal response, then close the connection (no `Connection: close` header).
    truncate,   ///< Send headers with the full Content-Length but only part of the body, then close.
    malformed,  ///< Send a complete response whose body is not valid JSON (the connection stays usable).
    stall,      ///< Send the headers, then nothing more; the connection is closed after `idle_timeout`.
};
/// "none", "status", "reset", "close", "truncate", "malformed", "stall".
const char* to_string(fault_action a) noexcept;

/// One fault injection rule. Rules are tried in the order they were added; the first one that matches and
/// fires answers the request (one fault per request). Fields left empty match anything.
struct fault_rule {
    // --- which requests
    std::optional<std::string> route;    ///< Operation name: post_message, get_messages, delete_message,
                                         ///< delete_messages, reset_unread_count, conversation_activity,
                                         ///< or "unknown" (paths that are not an API route). nullopt: any.
    std::optional<std::string> method;   ///< HTTP method, e.g. "POST" (case-sensitive). nullopt: any.
    std::optional<std::string> app_id;   ///< Decoded app id. nullopt: any.
    std::optional<std::string> user_id;  ///< Decoded user id. nullopt: any.
    std::uint64_t skip = 0;              ///< Let this many matching requests through before the rule starts.
    std::optional<std::uint64_t> count;  ///< Fire for the next `count` matching requests, then retire;
                                         ///< nullopt: no limit (use with `probability` for soak runs).
    double probability = 1.0;            ///< Chance (0..1] that a matching request fires the rule. Drawn from
                                         ///< the server's RNG, seeded by server_params::seed (deterministic).

    // --- what happens
    fault_action action = fault_action::none;
    std::chrono::milliseconds delay{0};      ///< Wait this long before answering (or resetting). Any action.
                                             ///< 0 .. 24 h.
    unsigned status = 0;                     ///< For `status`: the status to send (0 means 503). For truncate,
                                             ///< malformed and stall: the status line to use when the request is
                                             ///< not applied (0 = the route's success status, 201 or 200).
                                             ///< Otherwise 200..599 except 204 and 304 (each fault response has a
                                             ///< body); add_fault() and the constructor throw std::invalid_argument.
    std::optional<std::string> retry_after;  ///< `Retry-After` value sent verbatim (delta-seconds or an
                                             ///< HTTP-date); only with `status`.
    bool apply_before_fault = false;         ///< Process the request for real (store the message...) before the
                                             ///< fault hides the answer: the client's "outcome unknown" case.
                                             ///< Ignored by none/close, which always process the request.
};

/// Parses the text form used by `--fault` and `POST /_admin/faults`: comma-separated items, each `key=value`
/// or a bare action name. Values may be double-quoted (needed for HTTP-dates, which contain commas).
///   actions: status=CODE | reset | close | truncate | malformed | stall   (plus delay=MS with any of them)
///   keys:    retry_after=V  count=N  skip=N  probability=P  route=OP  method=M  app=ID  user=ID  apply
/// e.g. "status=503,retry_after=1,count=5,route=post_message" or "reset,apply,count=1,app=app_1".
/// Throws std::invalid_argument naming the offending item.
fault_rule parse_fault(std::string_view spec);

// ---------------------------------------------------------------------------------------------------------
// Webhooks

/// Where and how the mock delivers webhooks (docs/mock.md "Webhooks"). Operations that Smooch reports with a
/// webhook put the v1.1 payload in the engine's outbox; the server POSTs it to `target` with `X-API-Key`.
struct webhook_params {
    /// http://HOST[:PORT][/PATH] or https://...; no user info, no fragment. Required.
    std::string target;
    /// Sent as the `X-API-Key` header (Smooch's shared secret). Required, never recorded or printed.
    std::string secret;
    /// Triggers to deliver: "message" (both roles), "message:appUser", "message:appMaker", "conversation:read",
    /// "*", or any other v1 trigger (accepted, never produced by the mock). Default {"message"}: Smooch's default
    /// for a webhook created without triggers.
    std::vector<std::string> triggers{"message"};
    /// PEM text of the CAs trusted for an https target (--webhook-ca FILE). Empty: the system's trust store.
    std::string ca_pem;
    /// One attempt (resolve, connect, TLS, request, response headers) may take this long before it counts as
    /// a failure. Default 20 s, the documented limit. 1 ms .. 24 h.
    std::chrono::milliseconds attempt_timeout{20'000};
    /// Interval before retry n is retry_base * 2^(n-1). Default 30 s: 5 retries then span about 15 minutes, the
    /// documented redelivery window. Small values make tests fast. 1 ms .. 24 h.
    std::chrono::milliseconds retry_base{30'000};
    /// Retries after a failed attempt (not after 2xx, nor after 400, 401, 403, 404, 406, which are
    /// non-recoverable). Default 5, as documented. 0 .. 100.
    unsigned max_retries = 5;
    /// Fault: chance (0..1) that a webhook is delivered twice (a second, independent delivery of the same
    /// payload), drawn from the server's seeded RNG. Default 0.
    double duplicate_probability = 0;
    /// Fault: chance (0..1) that an attempt fails after its request was sent in full: the mock closes the
    /// connection without reading the answer, as if none came in time, and retries. Default 0.
    double fail_probability = 0;
    /// Fault: the first N attempts (server-wide) fail the same way, whatever fail_probability says. Default 0.
    std::uint64_t fail_first = 0;
    /// Deliveries in progress at once (attempting or waiting to retry); others wait in the outbox. Default 64.
    std::size_t max_in_flight = 64;
    /// Webhooks waiting in the outbox; beyond this one is dropped and recorded as `queue_full`. Default 10000.
    std::size_t max_queue = 10'000;
};

/// Parses a webhook target: "http" or "https", the host (brackets stripped from IPv6), the port (default 80 or
/// 443) and the request target (path and query, default "/"). Throws std::invalid_argument saying what is wrong
/// (never echoing user info).
struct webhook_url {
    bool https = false;
    std::string host;
    unsigned short port = 0;
    std::string target;
};
webhook_url parse_webhook_url(std::string_view url);

/// Throws std::invalid_argument, the message starting with the field ("webhook.retry_base: ..."), unless every
/// field of `w` is usable.
void check_webhook_params(const webhook_params& w);

/// How a webhook delivery attempt ended.
enum class webhook_outcome {
    delivered,   ///< 2xx.
    rejected,    ///< 400, 401, 403, 404 or 406: non-recoverable, never retried.
    status,      ///< Another status: retried.
    timeout,     ///< No answer within attempt_timeout: retried.
    error,       ///< Resolve, connect, TLS or I/O error (`error` says which): retried.
    injected,    ///< The fail_probability / fail_first fault: retried.
    queue_full,  ///< Not attempted: the outbox was full (attempt 0).
};
/// "delivered", "rejected", "status", "timeout", "error", "injected", "queue_full".
const char* to_string(webhook_outcome o) noexcept;

/// One webhook delivery attempt, as recorded.
struct webhook_attempt_record {
    std::uint64_t delivery = 0;                   ///< Delivery number, shared by its attempts (from 1).
    unsigned attempt = 0;                         ///< 1 for the first try, 2.. for retries.
    std::string trigger;                          ///< e.g. "message:appUser".
    std::string app_id, user_id;                  ///< The conversation's (decoded) ids.
    std::vector<std::string> message_ids;         ///< `_id`s of the payload's messages.
    bool duplicate = false;                       ///< The second delivery made by duplicate_probability.
    std::chrono::steady_clock::time_point start;  ///< When the attempt began (before connecting).
    std::chrono::microseconds answer_time{0};     ///< Request written to response headers read: the receiver's
                                                  ///< acknowledgement time (0 without a response).
    std::chrono::microseconds elapsed{0};         ///< Start to outcome.
    unsigned status = 0;                          ///< The receiver's status, 0 if none.
    webhook_outcome outcome = webhook_outcome::delivered;
    std::string error;                                  ///< What failed, for `error` and `timeout`.
    std::optional<std::chrono::milliseconds> retry_in;  ///< The wait before the next attempt; nullopt if none
                                                        ///< follows (delivered, rejected, or retries exhausted).
};

// ---------------------------------------------------------------------------------------------------------
// Parameters

struct server_params {
    /// Address to bind. Default loopback: the mock is a test tool and must not be reachable from outside
    /// unless asked. IPv6 literals without brackets ("::1").
    std::string host = "127.0.0.1";
    /// Port to bind; 0 lets the OS choose (read it back with server::port()). Default 0 so tests never clash.
    unsigned short port = 0;
    /// TLS certificate and key; nullopt serves plain HTTP. Default nullopt; tests use generate_tls().
    std::optional<tls_material> tls;
    /// Accepted keys. Empty (default): authentication is off and every request is accepted as if made with
    /// an account key, Authorization header or not (convenient for examples; tests should configure keys).
    std::vector<api_key> keys;
    /// Per-app token bucket; nullopt (default) = unlimited. Changeable at run time with set_rate_limit().
    std::optional<rate_limit> rate;
    /// Send `Retry-After` (whole seconds until the app's bucket has a token) with the rate limiter's 429s.
    /// Default false: Smooch answers 429 without Retry-After (docs/api-facts.md#rate-limits), and a client
    /// tested against the mock must cope with that. Fault rules (`status=429,retry_after=N`) are unaffected.
    bool rate_limit_retry_after = false;
    /// Fault rules active from the start. Default none.
    std::vector<fault_rule> faults;
    /// Seed of the RNG behind fault probabilities and generated ids. Default 1: runs are reproducible.
    std::uint64_t seed = 1;
    /// Serve /_admin/* (record, faults, reset, rate limit). Default off: never expose it by accident.
    bool admin = false;

    // --- per-connection behaviour (also fault injection: small values create the stale keep-alive case)
    // Every timeout below must be 1 ms .. 24 h (86400000 ms): zero, negative or longer values throw
    // std::invalid_argument from the constructor (a deadline is now() + timeout; the bound keeps it exact).
    /// Close a connection (silently, no `Connection: close`) after it has served this many requests.
    /// 0 (default) = unlimited. Changeable at run time with set_close_after_requests().
    std::size_t close_after_requests = 0;
    /// Close a keep-alive connection that has been idle (no byte of a new request) for this long, without
    /// warning. Default 60 s, like common servers. Changeable at run time with set_idle_timeout().
    std::chrono::milliseconds idle_timeout{60'000};

    // --- protection against hostile or broken clients
    /// Time allowed from the first byte of a request to the end of its headers (slowloris). Default 10 s.
    std::chrono::milliseconds header_timeout{10'000};
    /// Time allowed to receive the body once the headers are in. Default 30 s.
    std::chrono::milliseconds body_timeout{30'000};
    /// Time allowed to write one response (a client that never reads). Default 30 s.
    std::chrono::milliseconds write_timeout{30'000};
    /// Time allowed for the TLS handshake. Default 10 s.
    std::chrono::milliseconds handshake_timeout{10'000};
    /// Largest request line + headers, bytes; larger gets 431 and the connection is closed. Default 16 KiB.
    std::size_t header_limit = 16 * 1024;
    /// Largest request body, bytes; larger gets 413 (checked on Content-Length before reading the body)
    /// and the connection is closed. Default 100 KiB: the documented API limit is 100 kb.
    std::size_t body_limit = 100 * 1024;
    /// Concurrent connections served. Default 1024. Up to as many more are still accepted and refused the way
    /// an HTTP server says so: TLS handshake (if TLS), the request read, then 503 `service_unavailable` with
    /// `Retry-After: 1` and `Connection: close` (not recorded, never reaching the engine). Beyond twice this
    /// many, a connection is reset (TCP RST) as soon as it is accepted. Memory stays bounded either way.
    std::size_t max_connections = 1024;
    /// Requests kept in record::requests (each ~150 bytes); later ones are only counted, so soak runs and
    /// benchmarks do not grow without bound. Default 100000.
    std::size_t max_recorded_requests = 100'000;

    // --- webhooks
    /// Deliver webhooks (docs/mock.md "Webhooks"). nullopt (default): none are sent. Changeable at run time with
    /// set_webhook() and /_admin/webhook.
    std::optional<webhook_params> webhook;
};

// ---------------------------------------------------------------------------------------------------------
// Record

/// One stored message.
struct message_record {
    std::string id;                   ///< `_id`, 24 lowercase hex characters.
    std::optional<std::string> text;  ///< The message's `text`, if it has one.
    std::int64_t received_ms = 0;     ///< `received` in milliseconds since the Unix epoch.
    std::string json;                 ///< The whole stored message as serialized in responses.
};

/// One conversation (app id + user id) as it is now, plus its history of created ids.
struct conversation_record {
    std::string app_id, user_id;           ///< Decoded ids.
    std::string conversation_id;           ///< Conversation `_id`.
    std::int64_t unread_count = 0;         ///< Current `unreadCount`.
    std::vector<message_record> messages;  ///< Messages stored now, ascending by `received`.
    std::vector<std::string> created_ids;  ///< Every message id ever created here, in creation order,
                                           ///< including deleted ones (so duplicates stay visible).
    /// Ids of `messages`, in order.
    std::vector<std::string> message_ids() const;
    /// `text` of `messages` (empty string for messages without text), in order.
    std::vector<std::string> texts() const;
};

/// One request that reached the server (a complete request was read). Admin requests are not recorded.
struct request_record {
    std::chrono::steady_clock::time_point arrival;  ///< When its headers had been read (steady_clock).
    std::string method;                             ///< e.g. "POST".
    std::string route;                              ///< Operation name, or "unknown".
    std::string app_id, user_id;                    ///< Decoded; empty for unknown routes.
    unsigned status = 0;                            ///< Status sent (0: none, e.g. reset or truncated).
    fault_action fault = fault_action::none;        ///< The fault that answered it, if any.
    bool faulted = false;                           ///< A fault rule fired (including a pure delay).
    bool applied = false;                           ///< The operation ran and succeeded (state changed
                                                    ///< for writes), whatever the client was told.
};

/// A snapshot of what the server processed. Counters cover the whole run (since start or the last reset),
/// even when `requests` stopped growing at server_params::max_recorded_requests.
struct record {
    std::vector<conversation_record> conversations;   ///< Sorted by (app_id, user_id).
    std::map<std::string, std::uint64_t> routed;      ///< Requests per route (any outcome), incl. "unknown".
    std::map<std::string, std::uint64_t> operations;  ///< Successful executions per operation (the state
                                                      ///< change happened), including apply_before_fault.
    std::map<std::string, std::uint64_t> faults;      ///< Requests answered by a fault, per action name
                                                      ///< ("none" = delay only).
    std::uint64_t rate_limited = 0;                   ///< 429s sent by the rate limiter (not by faults).
    std::uint64_t unauthorized = 0;                   ///< 401s and 403s sent.
    std::uint64_t requests_total = 0;                 ///< Requests that reached the server.
    std::vector<request_record> requests;             ///< The first max_recorded_requests, in arrival order.

    // --- webhooks (docs/mock.md "Webhooks")
    std::uint64_t webhooks_queued = 0;     ///< Webhooks put in the outbox (duplicates included).
    std::uint64_t webhooks_delivered = 0;  ///< Deliveries that ended with a 2xx.
    std::uint64_t webhooks_failed = 0;     ///< Deliveries that ended otherwise (rejected, retries exhausted,
                                           ///< queue full).
    /// Every delivery attempt (the first max_recorded_requests), in the order they ended.
    std::vector<webhook_attempt_record> webhook_deliveries;

    /// The conversation of (app, user), or nullptr.
    const conversation_record* find(std::string_view app_id, std::string_view user_id) const;
    /// operations[op], 0 if absent.
    std::uint64_t operation_count(std::string_view op) const;
    /// faults[to_string(a)], 0 if absent.
    std::uint64_t fault_count(fault_action a) const;
    /// Number of recorded requests for `app_id` that arrived strictly before `t`.
    std::size_t requests_before(std::string_view app_id, std::chrono::steady_clock::time_point t) const;
};

/// The record as JSON (the format of GET /_admin/record, documented in docs/mock.md).
std::string to_json(const record& r);

// ---------------------------------------------------------------------------------------------------------
// The server

/// The in-process server. All its I/O runs on the executor it is given and it starts no thread. Give it a
/// single-threaded io_context's executor or a strand. record(), add_fault(), clear_faults(),
/// set_rate_limit(), set_close_after_requests(), set_idle_timeout() and reset() are thread-safe: they may be
/// called from any thread while the server runs. start(), stop(), port() and base_url() belong to the
/// thread that owns the server (stop() may also be called from elsewhere: it is dispatched to the executor).
class server {
public:
    /// Validates `p` (throws std::invalid_argument) and loads the TLS material (throws on bad PEM).
    server(boost::asio::any_io_executor ex, server_params p);
    ~server();  ///< Stops the server (as stop()).
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds host:port and starts accepting. Throws boost::system::system_error if binding fails.
    void start();
    /// The bound port (after start()), else the configured one.
    unsigned short port() const;
    /// "https://HOST:PORT" or "http://HOST:PORT" (IPv6 hosts in brackets). `next`/`previous` use it.
    std::string base_url() const;
    /// Closes the acceptor and every connection. Idempotent. State and record are kept.
    void stop();

    mock::record record() const;                           ///< Snapshot of what was processed.
    void add_fault(fault_rule rule);                       ///< Appends a rule (after existing ones).
    void clear_faults();                                   ///< Removes every rule.
    void set_rate_limit(std::optional<rate_limit> limit);  ///< nullopt disables; resets the buckets.
    void set_close_after_requests(std::size_t n);          ///< See server_params::close_after_requests.
    void set_idle_timeout(std::chrono::milliseconds t);    ///< See server_params::idle_timeout (1 ms..24 h,
                                                           ///< else std::invalid_argument).
    void reset();                                          ///< Forget every conversation and the record.
    /// Sets (validated as check_webhook_params(), else std::invalid_argument) or clears the webhook target.
    /// Deliveries already under way keep the settings they started with. Thread-safe, like the setters above.
    void set_webhook(std::optional<webhook_params> w);

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace smooch::mock

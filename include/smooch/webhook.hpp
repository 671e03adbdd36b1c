// SPDX-License-Identifier: BSL-1.0
#pragma once
// The receiving half of a Smooch integration: the v1.1 webhook payloads (reference.md §10), the check of the
// shared secret Smooch sends in `X-API-Key`, and a de-duplicator for redelivered webhooks. docs/webhooks.md
// explains the receiving side end to end.
//
//   if (!smooch::check_webhook_key(req[smooch::webhook_key_header], secret)) -> answer 401 (not redelivered)
//   smooch::diagnostics diag;
//   auto p = smooch::parse<smooch::webhook_payload>(req.body(), diag);   // diag.message names the JSON path
//   if (!p) -> answer 400 (not redelivered)
//   for (auto& m : p->messages.value_or({})) if (dedup.first_time(*m.id, now)) ... reply in the background
//   -> answer 200 at once
//
// The payload models follow <smooch/models.hpp>: snake_case members, camelCase keys in the comments, every
// field optional (the server omits fields), open enums, unknown keys kept in `extra`, raw JSON for free-form
// objects. parse<T>(), from_json<T>(), to_json() and serialize<T>() of <smooch/json.hpp> are defined for every
// type here, with the same errors ("messages[0].received: expected number").

#include <smooch/json.hpp>
#include <smooch/models.hpp>

#include <boost/json/value.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace smooch {

/// Webhook triggers of the v1/v1.1 API (DOCS17 "Webhook triggers", reference.md §10). A payload's `trigger` is
/// an open enum: a trigger this library does not name is kept, not an error.
enum class webhook_trigger {
    message,                ///< "message": any message (a subscription name; payloads usually carry the role form)
    message_app_user,       ///< "message:appUser"
    message_app_maker,      ///< "message:appMaker" (role appMaker or whisper)
    conversation_start,     ///< "conversation:start"
    conversation_read,      ///< "conversation:read"
    conversation_referral,  ///< "conversation:referral"
    postback,               ///< "postback"
    merge_app_user,         ///< "merge:appUser"
    delivery_success,       ///< "delivery:success"
    delivery_failure,       ///< "delivery:failure"
    payment_success,        ///< "payment:success"
    link_match,             ///< "link:match"
    link_success,           ///< "link:success"
    link_failure,           ///< "link:failure"
};
template <>
struct enum_names<webhook_trigger> {
    static constexpr auto values = std::to_array<std::string_view>(
        {"message", "message:appUser", "message:appMaker", "conversation:start", "conversation:read",
         "conversation:referral", "postback", "merge:appUser", "delivery:success", "delivery:failure",
         "payment:success", "link:match", "link:success", "link:failure"});
};

/// The app the event belongs to (the "truncated app": only its id).
struct webhook_app {
    std::optional<std::string> id;  ///< "_id".
    json_object extra;
    friend bool operator==(const webhook_app&, const webhook_app&) = default;
};

/// One of an appUser's clients (channels or SDK installs).
struct app_user_client {
    std::optional<std::string> id;                        ///< "id": device or channel client id.
    std::optional<bool> active;                           ///< "active".
    std::optional<open_enum<integration_type>> platform;  ///< "platform": web, ios, messenger, "other"...
    std::optional<std::string> last_seen;                 ///< "lastSeen": ISO 8601 date-time.
    std::optional<std::string> app_version;               ///< "appVersion".
    std::optional<std::string> linked_at;                 ///< "linkedAt": ISO 8601 date-time.
    std::optional<json_object> info;                      ///< "info": platform-specific, kept raw.
    json_object extra;
    friend bool operator==(const app_user_client&, const app_user_client&) = default;
};

/// The appUser of an event. Truncated payloads (conversation:read, delivery:*) carry only `_id` and `userId`.
/// Reply to `user_id` when present, else to `id` (the API accepts either in its paths).
struct app_user {
    std::optional<std::string> id;                                ///< "_id": the smoochId.
    std::optional<std::string> user_id;                           ///< "userId": the integrator's id.
    std::optional<json_object> properties;                        ///< "properties": flat, set by the app.
    std::optional<std::string> signed_up_at;                      ///< "signedUpAt": ISO 8601 date-time.
    std::optional<std::vector<app_user_client>> clients;          ///< "clients".
    std::optional<std::vector<app_user_client>> pending_clients;  ///< "pendingClients".
    std::optional<bool> conversation_started;                     ///< "conversationStarted".
    std::optional<bool> credential_required;                      ///< "credentialRequired".
    std::optional<std::string> email;                             ///< "email".
    std::optional<std::string> given_name;                        ///< "givenName".
    std::optional<std::string> surname;                           ///< "surname".
    json_object extra;
    friend bool operator==(const app_user&, const app_user&) = default;
};

/// A tap on a postback button: the action, and the message it belonged to (absent for persistent menus).
struct postback {
    std::optional<smooch::message> message;  ///< "message".
    std::optional<smooch::action> action;    ///< "action": its `payload` is what the button carries.
    json_object extra;
    friend bool operator==(const postback&, const postback&) = default;
};

/// A payment of a payment:success event.
struct payment {
    std::optional<smooch::source> source;    ///< "source".
    std::optional<smooch::message> message;  ///< "message": the appMaker message with the buy action.
    std::optional<smooch::action> action;    ///< "action": the buy action (`state` "paid").
    std::optional<json_object> charge;       ///< "charge": the Stripe charge ({"id": ...}), kept raw.
    json_object extra;
    friend bool operator==(const payment&, const payment&) = default;
};

/// Why a delivery:failure happened.
struct delivery_error {
    std::optional<std::string> code;              ///< "code".
    std::optional<std::string> message;           ///< "message".
    std::optional<json_object> underlying_error;  ///< "underlyingError": the channel's own error, kept raw.
    json_object extra;
    friend bool operator==(const delivery_error&, const delivery_error&) = default;
};

/// A webhook request body (v1.1). Which members are present depends on the trigger:
/// message:* `messages`, `appUser` (and `conversation`); postback `postbacks`; conversation:read `appUser`,
/// `conversation`, `source`, `timestamp`; delivery:* `messages`, `appUser`, `destination`, `timestamp`
/// (`error` on failures); merge:appUser `surviving`, `discarded`; payment:success `payments`.
struct webhook_payload {
    open_enum<webhook_trigger> trigger = webhook_trigger::message_app_user;  ///< "trigger": required.
    std::optional<webhook_app> app;                                          ///< "app".
    std::optional<std::string> version;                                      ///< "version": "v1.1".
    std::optional<std::vector<smooch::message>> messages;                    ///< "messages": may hold several.
    std::optional<smooch::app_user> app_user;                                ///< "appUser".
    std::optional<std::vector<smooch::postback>> postbacks;                  ///< "postbacks".
    std::optional<smooch::conversation> conversation;                        ///< "conversation".
    std::optional<smooch::source> source;                                    ///< "source": where it happened.
    std::optional<smooch::source> destination;                               ///< "destination" (delivery:*).
    std::optional<double> timestamp;                                         ///< "timestamp": unix seconds.
    std::optional<delivery_error> error;                                     ///< "error" (delivery:failure).
    std::optional<smooch::app_user> surviving;                               ///< "surviving" (merge:appUser).
    std::optional<std::vector<smooch::app_user>> discarded;                  ///< "discarded" (merge:appUser).
    std::optional<std::vector<smooch::payment>> payments;                    ///< "payments" (payment:success).
    std::optional<app_user_client> client;                                   ///< "client": the sending client.
    json_object extra;
    friend bool operator==(const webhook_payload&, const webhook_payload&) = default;
};

#define SMOOCH_JSON_MODEL(T)                                                                                           \
    boost::json::value to_json(const T& v);                                                                            \
    void to_json(const T& v, boost::json::value& out)
SMOOCH_JSON_MODEL(webhook_app);
SMOOCH_JSON_MODEL(app_user_client);
SMOOCH_JSON_MODEL(app_user);
SMOOCH_JSON_MODEL(postback);
SMOOCH_JSON_MODEL(payment);
SMOOCH_JSON_MODEL(delivery_error);
SMOOCH_JSON_MODEL(webhook_payload);
#undef SMOOCH_JSON_MODEL

// ------------------------------------------------------------------------------------------------ the secret

/// The header that carries the webhook's shared secret (matched case-insensitively, as every HTTP field name).
inline constexpr std::string_view webhook_key_header = "X-API-Key";

/// Whether the `X-API-Key` value equals the webhook's secret. Smooch signs nothing: the secret itself is the
/// proof, so it is compared in constant time (both sides are hashed and the digests compared, so neither where
/// they differ nor the secret's length shows in the timing). An empty secret never matches: a receiver whose
/// secret is unset must not accept everything.
bool check_webhook_key(std::string_view header_value, std::string_view secret) noexcept;

// ---------------------------------------------------------------------------------------- de-duplication

struct webhook_dedup_params {
    /// How long an id is remembered after it was first seen. Default 15 min: Smooch retries a failed delivery
    /// up to 5 times over about 15 minutes (reference.md §10), so a redelivery comes within it.
    std::chrono::milliseconds window = std::chrono::minutes(15);
    /// Most ids remembered at once; when full, the oldest is forgotten early (counted in evicted_early()).
    /// Default 100000: about 15 MB with 24-character message ids, and 15 minutes of 100 messages/s.
    std::size_t max_entries = 100'000;
};

/// Remembers the ids (message `_id`s) of the webhooks already handled, over a sliding window, so a redelivered
/// webhook is recognised. Sans-I/O: the caller passes the time (steady_clock), so tests need no clock. Memory is
/// bounded by max_entries × (id length + about 100 bytes).
///
/// Not thread-safe: one deduplicator belongs to one thread or strand (the bot example keeps it on its
/// single-threaded io_context). Share one between threads only behind your own mutex.
class webhook_deduplicator {
public:
    using clock = std::chrono::steady_clock;

    /// Throws std::invalid_argument if window <= 0 or max_entries == 0.
    explicit webhook_deduplicator(webhook_dedup_params p = {});

    /// True the first time `id` is seen within the window (it is then remembered), false for a repeat.
    /// `now` should not go backwards; a time earlier than the latest one passed is taken as that one.
    bool first_time(std::string_view id, clock::time_point now);
    /// Whether `id` is remembered at `now` (expired ids are forgotten first). Does not remember it.
    bool seen(std::string_view id, clock::time_point now);
    /// Forgets `id`, so that a redelivery is handled again (e.g. when handling it failed before answering).
    void forget(std::string_view id);
    /// Ids remembered now.
    std::size_t size() const noexcept { return by_id_.size(); }
    /// Ids forgotten before their window ended because max_entries was reached: if this grows, duplicates
    /// may get through; raise max_entries.
    std::uint64_t evicted_early() const noexcept { return evicted_early_; }

private:
    struct entry {
        std::string id;
        clock::time_point first_seen;
    };
    void expire(clock::time_point now);

    webhook_dedup_params params_;
    std::list<entry> order_;                                                  // oldest first
    std::unordered_map<std::string_view, std::list<entry>::iterator> by_id_;  // views into order_'s strings
    clock::time_point latest_{};
    std::uint64_t evicted_early_ = 0;
};

}  // namespace smooch

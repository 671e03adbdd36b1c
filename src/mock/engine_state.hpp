// SPDX-License-Identifier: BSL-1.0
#pragma once
// Inside smooch::mock::engine: its state (opaque in <smooch/mock/engine.hpp>) and the context of one request,
// shared by the engine's translation units, one per concern:
//   engine.cpp      construction, setters, engine::handle() (the order of the checks)
//   routing.cpp     routes, authentication and authorization, the rate limit
//   validation.cpp  the API's semantic checks of request bodies
//   operations.cpp  the six operations and the conversation state
//   faults.cpp      the fault grammar, rule checks, matching and the answers faults give
//   admin.cpp       /_admin/*
//   webhooks.cpp    webhook settings, payloads, the outbox and the record of attempts (sent by webhook_sender.cpp)
//   record.cpp      the record's helpers and its JSON form
//   codec.cpp       text codecs only the mock needs (the shared ones are in detail/)
// No Asio in any of them: they stay cheap to compile. docs/mock.md documents every rule.

#include <smooch/mock/engine.hpp>

#include "detail/token_bucket.hpp"
#include "mock/webhooks.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace smooch::mock::detail {

/// Longest timeout or fault delay, ms: a day. Deadlines are steady_clock::now() + d; a bound keeps that
/// addition far from overflowing.
inline constexpr std::int64_t max_ms = 86'400'000;

enum class op { post_message, get_messages, delete_message, delete_messages, reset_unread_count, activity, unknown };

/// The operations' names, as in the record and the `route=` of fault rules, indexed by op.
inline constexpr std::array<const char*, 7> op_names = {
    "post_message",       "get_messages",          "delete_message", "delete_messages",
    "reset_unread_count", "conversation_activity", "unknown"};
inline const char* op_name(op o) { return op_names[static_cast<std::size_t>(o)]; }

/// What the path (and method) of a request names. Ids are decoded.
struct route {
    op operation = op::unknown;
    std::string app, user, message;
    bool method_mismatch = false;  // the path is an API route, the method is not
    bool short_path = false;       // /v1.1/appusers/{user}/...: `app` is empty until authenticate() sets it
    const char* allow = "";
};

enum class scope { app, account, app_user };

/// Who a request acts as, once authenticated.
struct principal {
    scope sc = scope::account;
    std::string user_id;  // appUser only
};

struct conversation_state {
    conversation_record rec;
    std::string app_user_id;   // the appUser `_id` (authorId of appUser messages)
    std::string app_maker_id;  // authorId of appMaker messages (computed once: HMAC is not free)
    std::int64_t last_ms = 0;  // newest `received` ever given here (survives deletes)
};

/// Orders (app, user) keys and finds them by string_views, so a lookup copies no id.
struct key_less {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const
    {
        return std::tuple<std::string_view, std::string_view>(a.first, a.second) <
               std::tuple<std::string_view, std::string_view>(b.first, b.second);
    }
};

using conv_key = std::pair<std::string, std::string>;
using conv_view = std::pair<std::string_view, std::string_view>;

struct active_rule {
    fault_rule rule;
    std::uint64_t seen = 0;   // matching requests so far (for skip)
    std::uint64_t fired = 0;  // times it answered a request
};

struct engine_state {
    mutable std::mutex mu;
    server_params params;  // keys, limits (faults/rate are moved into the fields below)
    std::string base_url = "http://127.0.0.1";
    std::vector<active_rule> rules;
    std::optional<rate_limit> limit;
    std::map<std::string, smooch::detail::token_bucket, std::less<>> buckets;  // per app id
    std::map<conv_key, conversation_state, key_less> conversations;
    record rec;  // counters and requests; conversations are filled in at snapshot time
    std::mt19937_64 rng;
    std::uint64_t id_counter = 0;
    std::uint32_t id_random = 0;
    std::atomic<std::size_t> close_after{0};
    std::atomic<std::int64_t> idle_ms{60'000};
    webhook_state webhooks;  // webhooks.cpp

    /// A new ObjectId-like id (docs/mock.md "State rules").
    std::string new_id();
};

/// One request on its way through the engine. Whatever touches *s runs with s->mu held (engine::handle).
struct context {
    engine_state* s;
    const http_request& req;
    http_response& out;
    route rt;
    std::string_view query;
};

/// Fills `out` with an API error (engine::error_response, shorter to call).
inline void error(http_response& out, unsigned status, std::string_view code, std::string_view description)
{
    engine::error_response(status, code, description, out);
}

}  // namespace smooch::mock::detail

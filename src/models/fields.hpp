// SPDX-License-Identifier: BSL-1.0
#pragma once
// The field tables: each model lists its JSON keys once (fields_of<T>), and every reader and writer of the
// models walks that table, so a key can never be read under one name and written under another.

#include <smooch/models.hpp>
#include <smooch/webhook.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace smooch::detail {

/// Every model type, for the explicit instantiations: X(conversation_activity) X(action) ...
/// api_error_body has no field table (its shape is written by hand) but is a model of the public API.
#define SMOOCH_FOR_EACH_MODEL(X)                                                                                       \
    X(conversation_activity)                                                                                           \
    X(action)                                                                                                          \
    X(message_item) X(display_settings) X(destination) X(coordinates) X(location) X(option) X(field_post)              \
        X(select_choice) X(field) X(message_post) X(source) X(quoted_message) X(message) X(conversation)               \
            X(message_response) X(get_messages_response) X(activity_response) X(api_error_body)                        \
                SMOOCH_FOR_EACH_WEBHOOK_MODEL(X)

/// The webhook payloads of <smooch/webhook.hpp>, instantiated with the models.
#define SMOOCH_FOR_EACH_WEBHOOK_MODEL(X)                                                                               \
    X(webhook_app) X(app_user_client) X(app_user) X(postback) X(payment) X(delivery_error) X(webhook_payload)

template <class T, class M>
struct member {
    std::string_view key;
    M T::*ptr;
};

template <class T, class M>
constexpr member<T, M> mem(std::string_view key, M T::*ptr)
{
    return {key, ptr};
}

template <class T>
struct fields_of;

#define SMOOCH_FIELDS(T, ...)                                                                                          \
    template <>                                                                                                        \
    struct fields_of<T> {                                                                                              \
        using type = T;                                                                                                \
        static constexpr auto get() { return std::make_tuple(__VA_ARGS__); }                                           \
    }
#define F(key, m) mem(key, &type::m)

SMOOCH_FIELDS(conversation_activity, F("role", role), F("type", type), F("name", name), F("avatarUrl", avatar_url));
SMOOCH_FIELDS(action, F("type", type), F("text", text), F("payload", payload), F("metadata", metadata),
              F("amount", amount), F("currency", currency), F("default", is_default), F("iconUrl", icon_url),
              F("uri", uri), F("fallback", fallback), F("size", size), F("extraChannelOptions", extra_channel_options),
              F("openOnReceive", open_on_receive), F("_id", id), F("state", state));
SMOOCH_FIELDS(message_item, F("title", title), F("description", description), F("mediaUrl", media_url),
              F("altText", alt_text), F("size", size), F("mediaType", media_type), F("actions", actions), F("_id", id));
SMOOCH_FIELDS(display_settings, F("imageAspectRatio", image_aspect_ratio));
SMOOCH_FIELDS(destination, F("integrationId", integration_id), F("integrationType", integration_type));
SMOOCH_FIELDS(coordinates, F("lat", lat), F("long", long_), F("_id", id));
SMOOCH_FIELDS(location, F("address", address), F("name", name));
SMOOCH_FIELDS(option, F("name", name), F("label", label));
SMOOCH_FIELDS(field_post, F("type", type), F("name", name), F("label", label), F("placeholder", placeholder),
              F("minSize", min_size), F("maxSize", max_size), F("options", options));
SMOOCH_FIELDS(select_choice, F("_id", id), F("name", name), F("label", label));
SMOOCH_FIELDS(field, F("_id", id), F("type", type), F("name", name), F("label", label), F("placeholder", placeholder),
              F("minSize", min_size), F("maxSize", max_size), F("options", options), F("selectSize", select_size),
              F("text", text), F("email", email), F("select", select));
SMOOCH_FIELDS(message_post, F("role", role), F("type", type), F("name", name), F("email", email),
              F("avatarUrl", avatar_url), F("metadata", metadata), F("payload", payload), F("text", text),
              F("mediaUrl", media_url), F("mediaType", media_type), F("altText", alt_text), F("items", items),
              F("actions", actions), F("blockChatInput", block_chat_input), F("displaySettings", display_settings),
              F("fields", fields), F("destination", destination), F("override", override_),
              F("coordinates", coordinates), F("location", location));
SMOOCH_FIELDS(source, F("id", id), F("type", type), F("originalMessageId", original_message_id),
              F("originalMessageTimestamp", original_message_timestamp));
SMOOCH_FIELDS(quoted_message, F("type", type), F("externalMessageId", external_message_id), F("content", content));
SMOOCH_FIELDS(message, F("_id", id), F("authorId", author_id), F("role", role), F("type", type), F("source", source),
              F("name", name), F("text", text), F("email", email), F("avatarUrl", avatar_url), F("received", received),
              F("mediaUrl", media_url), F("mediaType", media_type), F("altText", alt_text), F("metadata", metadata),
              F("items", items), F("actions", actions), F("payload", payload), F("displaySettings", display_settings),
              F("blockChatInput", block_chat_input), F("fields", fields), F("submitted", submitted),
              F("quotedMessage", quoted_message), F("textFallback", text_fallback), F("coordinates", coordinates),
              F("location", location));
SMOOCH_FIELDS(conversation, F("_id", id), F("unreadCount", unread_count));
SMOOCH_FIELDS(message_response, F("message", message), F("extraMessages", extra_messages),
              F("conversation", conversation));
SMOOCH_FIELDS(get_messages_response, F("conversation", conversation), F("messages", messages), F("next", next),
              F("previous", previous));
SMOOCH_FIELDS(activity_response, F("conversation", conversation));
// Webhook payloads (reference.md §10).
SMOOCH_FIELDS(webhook_app, F("_id", id));
SMOOCH_FIELDS(app_user_client, F("id", id), F("active", active), F("platform", platform), F("lastSeen", last_seen),
              F("appVersion", app_version), F("linkedAt", linked_at), F("info", info));
SMOOCH_FIELDS(app_user, F("_id", id), F("userId", user_id), F("properties", properties), F("signedUpAt", signed_up_at),
              F("clients", clients), F("pendingClients", pending_clients),
              F("conversationStarted", conversation_started), F("credentialRequired", credential_required),
              F("email", email), F("givenName", given_name), F("surname", surname));
SMOOCH_FIELDS(postback, F("message", message), F("action", action));
SMOOCH_FIELDS(payment, F("source", source), F("message", message), F("action", action), F("charge", charge));
SMOOCH_FIELDS(delivery_error, F("code", code), F("message", message), F("underlyingError", underlying_error));
SMOOCH_FIELDS(webhook_payload, F("trigger", trigger), F("app", app), F("version", version), F("messages", messages),
              F("appUser", app_user), F("postbacks", postbacks), F("conversation", conversation), F("source", source),
              F("destination", destination), F("timestamp", timestamp), F("error", error), F("surviving", surviving),
              F("discarded", discarded), F("payments", payments), F("client", client));
#undef F
#undef SMOOCH_FIELDS

template <class T>
concept model = requires
{
    fields_of<T>::get();
};

template <class Tuple, class Fn, std::size_t... I>
void for_each_field_impl(const Tuple& t, Fn&& fn, std::index_sequence<I...>)
{
    (fn(I, std::get<I>(t)), ...);
}

template <class Tuple, class Fn>
void for_each_field(const Tuple& t, Fn&& fn)
{
    for_each_field_impl(t, fn, std::make_index_sequence<std::tuple_size_v<Tuple>>{});
}

template <class Tuple, std::size_t... I>
constexpr auto keys_of_impl(const Tuple& t, std::index_sequence<I...>)
{
    return std::array<std::string_view, sizeof...(I)>{std::string_view(std::get<I>(t).key)...};
}

template <class Tuple>
constexpr auto keys_of(const Tuple& t)
{
    return keys_of_impl(t, std::make_index_sequence<std::tuple_size_v<Tuple>>{});
}

// Finds a model's field by key in O(1): an open-addressing table built at compile time from the field table.
template <class T>
class field_index {
public:
    static constexpr auto keys = keys_of(fields_of<T>::get());
    static_assert(keys.size() < 64, "a model with 64 or more fields needs a larger table");

    /// The field's position in fields_of<T>, or -1 for a key the model does not know.
    static int find(std::string_view key) noexcept
    {
        for (std::size_t h = hash(key);; h = (h + 1) & mask) {
            const int i = table.slots[h];
            if (i < 0 || keys[static_cast<std::size_t>(i)] == key) return i;
        }
    }

private:
    static constexpr std::size_t size = 128, mask = size - 1;
    static constexpr std::size_t hash(std::string_view k) noexcept
    {
        std::size_t h = k.size() * 0x9E37u;
        for (char c : k) h = (h ^ static_cast<unsigned char>(c)) * 0x01000193u;
        return (h ^ (h >> 7)) & mask;
    }
    struct slots_t {
        std::array<int, size> slots;
    };
    static constexpr slots_t build()
    {
        slots_t t{};
        for (auto& s : t.slots) s = -1;
        for (std::size_t i = 0; i < keys.size(); ++i) {
            std::size_t h = hash(keys[i]);
            while (t.slots[h] >= 0) h = (h + 1) & mask;
            t.slots[h] = static_cast<int>(i);
        }
        return t;
    }
    static constexpr slots_t table = build();
};

// Optional members may be absent: readers do not require their key, writers leave an empty one out.
template <class M>
struct is_optional_member : std::false_type {};
template <class M>
struct is_optional_member<std::optional<M>> : std::true_type {};
template <class M>
struct is_optional_member<indirect<M>> : std::true_type {};

// Both writers (to_json, serialize): a non-finite double has no JSON spelling, so its key is left out rather
// than writing invalid JSON.
template <class M>
bool writable(const M&)
{
    return true;
}
inline bool writable(double d) { return std::isfinite(d); }

}  // namespace smooch::detail

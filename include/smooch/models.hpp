// SPDX-License-Identifier: BSL-1.0
#pragma once
// The data model of the Conversation API v1.1 (docs/api-facts.md, "Models").
//
// Rules that hold for every type here:
// - Members are snake_case; the JSON key is the camelCase name given in each comment. `_id` maps to `id`.
// - Enums are open (open_enum): known values have names, unknown strings are kept verbatim.
// - Everything a response can contain is std::optional: the server omits documented "required" fields.
//   Request-only types (message_post, conversation_activity, field_post) hold their required fields plainly.
// - `extra` keeps every JSON key this library does not know, so parse -> serialize loses nothing.
// - Free-form JSON (`metadata`, `payload`s, `override`, `extraChannelOptions`) stays raw Boost.JSON.
// - Conversions live in <smooch/json.hpp>; request validation in <smooch/validate.hpp>.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smooch {

/// Names of each enum's known values, indexed by the enumerator. Specialised below for each enum.
template <class Enum>
struct enum_names;

/// An enum whose wire value may be one this library does not know. Stores the wire string.
template <class Enum>
class open_enum {
public:
    open_enum() = default;
    open_enum(Enum e) : raw_(enum_names<Enum>::values[static_cast<std::size_t>(e)]) {}
    open_enum(std::string raw) : raw_(std::move(raw)) {}
    open_enum(const char* raw) : raw_(raw) {}

    /// The wire string, e.g. "appMaker" or a value unknown to this library.
    const std::string& str() const noexcept { return raw_; }
    /// The known enumerator, or nullopt for an unknown value.
    std::optional<Enum> known() const noexcept
    {
        const auto& v = enum_names<Enum>::values;
        for (std::size_t i = 0; i < v.size(); ++i)
            if (v[i] == raw_) return static_cast<Enum>(i);
        return std::nullopt;
    }
    bool is_known() const noexcept { return known().has_value(); }

    friend bool operator==(const open_enum& a, const open_enum& b) = default;
    friend bool operator==(const open_enum& a, Enum b) noexcept
    {
        return a.raw_ == enum_names<Enum>::values[static_cast<std::size_t>(b)];
    }

private:
    std::string raw_;
};

#define SMOOCH_ENUM_NAMES(E, ...)                                                                                      \
    template <>                                                                                                        \
    struct enum_names<E> {                                                                                             \
        static constexpr auto values = std::to_array<std::string_view>({__VA_ARGS__});                                 \
    }

enum class role { app_maker, app_user, whisper };
SMOOCH_ENUM_NAMES(role, "appMaker", "appUser", "whisper");

enum class message_type { carousel, file, image, list, location, text, form, form_response };
SMOOCH_ENUM_NAMES(message_type, "carousel", "file", "image", "list", "location", "text", "form", "formResponse");

enum class activity_type { conversation_read, typing_start, typing_stop };
SMOOCH_ENUM_NAMES(activity_type, "conversation:read", "typing:start", "typing:stop");

enum class action_type { buy, link, location_request, postback, reply, share, webview };
SMOOCH_ENUM_NAMES(action_type, "buy", "link", "locationRequest", "postback", "reply", "share", "webview");

enum class action_size { compact, full, tall };
SMOOCH_ENUM_NAMES(action_size, "compact", "full", "tall");

enum class item_size { compact, large };
SMOOCH_ENUM_NAMES(item_size, "compact", "large");

enum class image_aspect_ratio { horizontal, square };
SMOOCH_ENUM_NAMES(image_aspect_ratio, "horizontal", "square");

enum class field_type { text, email, select };
SMOOCH_ENUM_NAMES(field_type, "text", "email", "select");

enum class quoted_message_type { message, external_message_id };
SMOOCH_ENUM_NAMES(quoted_message_type, "message", "externalMessageId");

enum class integration_type {
    android,
    api,
    apn,
    fcm,
    ios,
    line,
    mailgun,
    messagebird,
    messenger,
    telegram,
    twilio,
    twitter,
    viber,
    web,
    wechat,
    whatsapp
};
SMOOCH_ENUM_NAMES(integration_type, "android", "api", "apn", "fcm", "ios", "line", "mailgun", "messagebird",
                  "messenger", "telegram", "twilio", "twitter", "viber", "web", "wechat", "whatsapp");
#undef SMOOCH_ENUM_NAMES

/// A deep-copying owner, for the recursive quotedMessage.content.
template <class T>
class indirect {
public:
    indirect() = default;
    indirect(T v) : p_(std::make_unique<T>(std::move(v))) {}
    indirect(const indirect& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
    indirect(indirect&&) noexcept = default;
    indirect& operator=(const indirect& o)
    {
        if (this != &o) p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
        return *this;
    }
    indirect& operator=(indirect&&) noexcept = default;
    T& operator*() const noexcept { return *p_; }
    T* operator->() const noexcept { return p_.get(); }
    T* get() const noexcept { return p_.get(); }
    explicit operator bool() const noexcept { return p_ != nullptr; }
    friend bool operator==(const indirect& a, const indirect& b)
    {
        if (!a.p_ || !b.p_) return !a.p_ && !b.p_;
        return *a.p_ == *b.p_;
    }

private:
    std::unique_ptr<T> p_;
};

using json_object = boost::json::object;

// ---------------------------------------------------------------------------------------------- requests

/// Request body of conversation_activity.
struct conversation_activity {
    open_enum<smooch::role> role = smooch::role::app_maker;       ///< "role": must be appMaker.
    open_enum<activity_type> type = activity_type::typing_start;  ///< "type".
    std::optional<std::string> name;                              ///< "name": the app maker's display name.
    std::optional<std::string> avatar_url;                        ///< "avatarUrl".
    json_object extra;                                            ///< Unknown keys.
    friend bool operator==(const conversation_activity&, const conversation_activity&) = default;
};

/// A button (Action). Shared by requests and responses, so every field is optional;
/// validate() enforces what a request needs (e.g. `text`, `payload` for postback/reply).
struct action {
    std::optional<open_enum<action_type>> type;        ///< "type".
    std::optional<std::string> text;                   ///< "text": button label (a `share` action has none).
    std::optional<std::string> payload;                ///< "payload": required for postback and reply.
    std::optional<json_object> metadata;               ///< "metadata": flat object.
    std::optional<std::int64_t> amount;                ///< "amount": cents, required for buy.
    std::optional<std::string> currency;               ///< "currency".
    std::optional<bool> is_default;                    ///< "default".
    std::optional<std::string> icon_url;               ///< "iconUrl".
    std::optional<std::string> uri;                    ///< "uri": required for link and webview.
    std::optional<std::string> fallback;               ///< "fallback": required for webview.
    std::optional<open_enum<action_size>> size;        ///< "size" (webview).
    std::optional<json_object> extra_channel_options;  ///< "extraChannelOptions".
    std::optional<bool> open_on_receive;               ///< "openOnReceive".
    std::optional<std::string> id;                     ///< "_id" (responses).
    std::optional<std::string> state;                  ///< "state" (responses: offered/paid).
    json_object extra;
    friend bool operator==(const action&, const action&) = default;
};

/// A carousel or list item (MessageItem).
struct message_item {
    std::optional<std::string> title;            ///< "title": required in requests.
    std::optional<std::string> description;      ///< "description".
    std::optional<std::string> media_url;        ///< "mediaUrl".
    std::optional<std::string> alt_text;         ///< "altText".
    std::optional<open_enum<item_size>> size;    ///< "size".
    std::optional<std::string> media_type;       ///< "mediaType".
    std::optional<std::vector<action>> actions;  ///< "actions": 1 to 3 in requests.
    std::optional<std::string> id;               ///< "_id" (responses).
    json_object extra;
    friend bool operator==(const message_item&, const message_item&) = default;
};

struct display_settings {
    std::optional<open_enum<smooch::image_aspect_ratio>> image_aspect_ratio;  ///< "imageAspectRatio".
    json_object extra;
    friend bool operator==(const display_settings&, const display_settings&) = default;
};

/// Channel targeting. The spec requires both fields, the docs say either: both optional here.
struct destination {
    std::optional<std::string> integration_id;                            ///< "integrationId".
    std::optional<open_enum<smooch::integration_type>> integration_type;  ///< "integrationType".
    json_object extra;
    friend bool operator==(const destination&, const destination&) = default;
};

/// MessageOverride: `{"whatsapp":{"payload":…},"line":{…},"messenger":{…}}`, kept as raw JSON.
using message_override = json_object;

struct coordinates {
    std::optional<double> lat;      ///< "lat": required in requests.
    std::optional<double> long_;    ///< "long": required in requests.
    std::optional<std::string> id;  ///< "_id" (responses).
    json_object extra;
    friend bool operator==(const coordinates&, const coordinates&) = default;
};

struct location {
    std::optional<std::string> address;  ///< "address".
    std::optional<std::string> name;     ///< "name".
    json_object extra;
    friend bool operator==(const location&, const location&) = default;
};

/// A choice of a select field (Option).
struct option {
    std::optional<std::string> name;   ///< "name": required, unique per field.
    std::optional<std::string> label;  ///< "label": required.
    json_object extra;
    friend bool operator==(const option&, const option&) = default;
};

/// A form field in a request (FieldPost).
struct field_post {
    open_enum<field_type> type = field_type::text;  ///< "type".
    std::string name;                               ///< "name": unique per form.
    std::string label;                              ///< "label".
    std::optional<std::string> placeholder;         ///< "placeholder".
    std::optional<std::int64_t> min_size;           ///< "minSize": text fields, default 1.
    std::optional<std::int64_t> max_size;           ///< "maxSize": text fields, default 128.
    std::optional<std::vector<option>> options;     ///< "options": select fields, at most 20.
    json_object extra;
    friend bool operator==(const field_post&, const field_post&) = default;
};

/// A selected choice in a formResponse (Select).
struct select_choice {
    std::optional<std::string> id;     ///< "_id".
    std::optional<std::string> name;   ///< "name".
    std::optional<std::string> label;  ///< "label".
    json_object extra;
    friend bool operator==(const select_choice&, const select_choice&) = default;
};

/// A form field in a response (Field).
struct field {
    std::optional<std::string> id;                     ///< "_id".
    std::optional<open_enum<field_type>> type;         ///< "type".
    std::optional<std::string> name;                   ///< "name".
    std::optional<std::string> label;                  ///< "label".
    std::optional<std::string> placeholder;            ///< "placeholder".
    std::optional<std::int64_t> min_size;              ///< "minSize".
    std::optional<std::int64_t> max_size;              ///< "maxSize".
    std::optional<std::vector<option>> options;        ///< "options".
    std::optional<std::int64_t> select_size;           ///< "selectSize".
    std::optional<std::string> text;                   ///< "text": answer in a formResponse.
    std::optional<std::string> email;                  ///< "email": answer in a formResponse.
    std::optional<std::vector<select_choice>> select;  ///< "select".
    json_object extra;
    friend bool operator==(const field&, const field&) = default;
};

/// Request body of post_message (MessagePost).
struct message_post {
    open_enum<smooch::role> role = smooch::role::app_maker;    ///< "role": appMaker or appUser.
    open_enum<message_type> type = message_type::text;         ///< "type".
    std::optional<std::string> name;                           ///< "name".
    std::optional<std::string> email;                          ///< "email".
    std::optional<std::string> avatar_url;                     ///< "avatarUrl".
    std::optional<json_object> metadata;                       ///< "metadata": flat object.
    std::optional<std::string> payload;                        ///< "payload": of a reply action.
    std::optional<std::string> text;                           ///< "text": required for text unless actions are given.
    std::optional<std::string> media_url;                      ///< "mediaUrl": required for image and file.
    std::optional<std::string> media_type;                     ///< "mediaType".
    std::optional<std::string> alt_text;                       ///< "altText".
    std::optional<std::vector<message_item>> items;            ///< "items": carousel and list, 1 to 10.
    std::optional<std::vector<action>> actions;                ///< "actions": appMaker only.
    std::optional<bool> block_chat_input;                      ///< "blockChatInput".
    std::optional<smooch::display_settings> display_settings;  ///< "displaySettings".
    std::optional<std::vector<field_post>> fields;             ///< "fields": required for form.
    std::optional<smooch::destination> destination;            ///< "destination".
    std::optional<message_override> override_;                 ///< "override".
    std::optional<smooch::coordinates> coordinates;            ///< "coordinates": required for location.
    std::optional<smooch::location> location;                  ///< "location".
    json_object extra;
    friend bool operator==(const message_post&, const message_post&) = default;
};

// --------------------------------------------------------------------------------------------- responses

struct source {
    std::optional<std::string> id;                     ///< "id".
    std::optional<open_enum<integration_type>> type;   ///< "type".
    std::optional<std::string> original_message_id;    ///< "originalMessageId".
    std::optional<double> original_message_timestamp;  ///< "originalMessageTimestamp".
    json_object extra;
    friend bool operator==(const source&, const source&) = default;
};

struct message;

struct quoted_message {
    std::optional<open_enum<quoted_message_type>> type;  ///< "type".
    std::optional<std::string> external_message_id;      ///< "externalMessageId".
    indirect<message> content;                           ///< "content": the quoted Message (may be empty).
    json_object extra;
    friend bool operator==(const quoted_message&, const quoted_message&) = default;
};

/// A message as the server returns it.
struct message {
    std::optional<std::string> id;                             ///< "_id".
    std::optional<std::string> author_id;                      ///< "authorId".
    std::optional<open_enum<smooch::role>> role;               ///< "role".
    std::optional<open_enum<message_type>> type;               ///< "type".
    std::optional<smooch::source> source;                      ///< "source".
    std::optional<std::string> name;                           ///< "name".
    std::optional<std::string> text;                           ///< "text".
    std::optional<std::string> email;                          ///< "email".
    std::optional<std::string> avatar_url;                     ///< "avatarUrl".
    std::optional<double> received;                            ///< "received": unix seconds with ms fraction.
    std::optional<std::string> media_url;                      ///< "mediaUrl".
    std::optional<std::string> media_type;                     ///< "mediaType".
    std::optional<std::string> alt_text;                       ///< "altText".
    std::optional<json_object> metadata;                       ///< "metadata".
    std::optional<std::vector<message_item>> items;            ///< "items".
    std::optional<std::vector<action>> actions;                ///< "actions".
    std::optional<std::string> payload;                        ///< "payload".
    std::optional<smooch::display_settings> display_settings;  ///< "displaySettings".
    std::optional<bool> block_chat_input;                      ///< "blockChatInput".
    std::optional<std::vector<field>> fields;                  ///< "fields".
    std::optional<bool> submitted;                             ///< "submitted".
    std::optional<smooch::quoted_message> quoted_message;      ///< "quotedMessage".
    std::optional<std::string> text_fallback;                  ///< "textFallback".
    std::optional<smooch::coordinates> coordinates;            ///< "coordinates".
    std::optional<smooch::location> location;                  ///< "location".
    json_object extra;
    friend bool operator==(const message&, const message&) = default;
};

struct conversation {
    std::optional<std::string> id;             ///< "_id".
    std::optional<std::int64_t> unread_count;  ///< "unreadCount".
    json_object extra;
    friend bool operator==(const conversation&, const conversation&) = default;
};

/// Response of post_message.
struct message_response {
    std::optional<smooch::message> message;                      ///< "message".
    std::optional<std::vector<smooch::message>> extra_messages;  ///< "extraMessages".
    std::optional<smooch::conversation> conversation;            ///< "conversation".
    json_object extra;
    friend bool operator==(const message_response&, const message_response&) = default;
};

/// Response of get_messages. Messages are ascending by `received`.
struct get_messages_response {
    std::optional<smooch::conversation> conversation;  ///< "conversation".
    std::optional<std::vector<message>> messages;      ///< "messages".
    std::optional<std::string> next;                   ///< "next": URI of newer messages, if any.
    std::optional<std::string> previous;               ///< "previous": URI of older messages, if any.
    json_object extra;
    bool has_next() const noexcept { return next.has_value() && !next->empty(); }
    bool has_previous() const noexcept { return previous.has_value() && !previous->empty(); }
    friend bool operator==(const get_messages_response&, const get_messages_response&) = default;
};

/// Response of conversation_activity.
struct activity_response {
    std::optional<smooch::conversation> conversation;  ///< "conversation".
    json_object extra;
    friend bool operator==(const activity_response&, const activity_response&) = default;
};

/// The API's error body: `{"error":{"code":…,"description":…}}`. `code` is an opaque string.
struct api_error_body {
    std::optional<std::string> code;         ///< "error.code", e.g. "unauthorized".
    std::optional<std::string> description;  ///< "error.description".
    json_object extra;                       ///< Unknown keys inside "error".
    json_object outer_extra;                 ///< Unknown keys beside "error".
    friend bool operator==(const api_error_body&, const api_error_body&) = default;
};

/// Query of get_messages. `before` and `after` are exclusive bounds and mutually exclusive.
/// Build them from a message's `received` with format_cursor() so no digit is lost.
struct get_messages_query {
    std::optional<std::string> before;  ///< Return up to 100 messages older than this timestamp.
    std::optional<std::string> after;   ///< Return up to 100 messages newer than this timestamp.
};

/// Formats a `received` value as a before/after cursor: the shortest decimal that reads back as the same
/// double, so 1439220041.586 becomes "1439220041.586" (no digits lost, none invented). Non-finite values
/// give an empty string.
std::string format_cursor(double received);

}  // namespace smooch

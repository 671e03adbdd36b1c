// SPDX-License-Identifier: BSL-1.0
#pragma once
// Boost.JSON conversions of every model, both ways.
//
// to_json() never fails. from_json()/parse() never crash and never default silently: a malformed document
// gives client_errc::invalid_json, a value of the wrong type gives client_errc::unexpected_json, and
// diagnostics::message names the JSON path, e.g. "messages[3].received: expected number".

#include <smooch/error.hpp>
#include <smooch/models.hpp>

#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace smooch {

#define SMOOCH_JSON_MODEL(T)                                                                                           \
    boost::json::value to_json(const T& v);                                                                            \
    void to_json(const T& v, boost::json::value& out)

SMOOCH_JSON_MODEL(conversation_activity);
SMOOCH_JSON_MODEL(action);
SMOOCH_JSON_MODEL(message_item);
SMOOCH_JSON_MODEL(display_settings);
SMOOCH_JSON_MODEL(destination);
SMOOCH_JSON_MODEL(coordinates);
SMOOCH_JSON_MODEL(location);
SMOOCH_JSON_MODEL(option);
SMOOCH_JSON_MODEL(field_post);
SMOOCH_JSON_MODEL(select_choice);
SMOOCH_JSON_MODEL(field);
SMOOCH_JSON_MODEL(message_post);
SMOOCH_JSON_MODEL(source);
SMOOCH_JSON_MODEL(quoted_message);
SMOOCH_JSON_MODEL(message);
SMOOCH_JSON_MODEL(conversation);
SMOOCH_JSON_MODEL(message_response);
SMOOCH_JSON_MODEL(get_messages_response);
SMOOCH_JSON_MODEL(activity_response);
SMOOCH_JSON_MODEL(api_error_body);
#undef SMOOCH_JSON_MODEL

/// Converts a JSON value to T. Defined (explicitly instantiated) for every model type above.
template <class T>
boost::system::result<T> from_json(const boost::json::value& v, diagnostics& diag);

/// Parses text (with Boost.JSON's default limits: depth 32, strict UTF-8) and converts it to T.
template <class T>
boost::system::result<T> parse(std::string_view text, diagnostics& diag);

/// Throwing form of parse(): throws smooch::error.
template <class T>
T parse(std::string_view text);

/// Serializes a model to compact JSON text.
template <class T>
std::string serialize(const T& v);

}  // namespace smooch

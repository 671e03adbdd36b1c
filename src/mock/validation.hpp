// SPDX-License-Identifier: BSL-1.0
#pragma once
// The API's semantic checks of request bodies (docs/api-facts.md#models, docs/mock.md "Validation"). Written apart from
// the client's validate() on purpose: the mock is an independent oracle for it. Each check returns the
// description of the 400 to send, naming the field, or an empty string.

#include <boost/json/fwd.hpp>

#include <string>
#include <string_view>

namespace smooch::mock::detail {

/// Parses a request body that must be a JSON object into `out` (which keeps its storage). `out` holds the
/// parsed object whenever the text was JSON, even when a number in it is out of range (the role check of
/// appUser tokens still needs it).
std::string parse_body(std::string_view text, boost::json::value& out);

/// A post_message body (docs/api-facts.md#message-post-body and the models it nests).
std::string validate_message(const boost::json::object& o);

/// A conversation_activity body.
std::string validate_activity(const boost::json::object& o);

}  // namespace smooch::mock::detail

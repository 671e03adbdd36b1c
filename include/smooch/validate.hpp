// SPDX-License-Identifier: BSL-1.0
#pragma once
// Request validation before sending: each rule docs/api-facts.md lists, with an error naming the field.
// Where the documentation is unsure, the request is accepted and the server decides.

#include <smooch/error.hpp>
#include <smooch/models.hpp>

#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace smooch {

/// Checks a message_post. On failure returns client_errc::invalid_request and sets diag.message to
/// "<field path>: <rule>", e.g. "items: a carousel needs 1 to 10 items, got 11".
error_code validate(const message_post& m, diagnostics& diag);
error_code validate(const conversation_activity& a, diagnostics& diag);
error_code validate(const get_messages_query& q, diagnostics& diag);
// Both body checks include "<path>: not valid UTF-8": every string (keys and raw JSON included) must be UTF-8.

/// A message_post validated and serialized once, to post any number of times: one body to many users (a
/// broadcast), or bodies prepared on another thread than the one that sends them (smooch-dispatch prepares each
/// campaign line on its journal's thread). Only prepare() makes one, so what it holds passed validate(), and
/// conversation_api::post_message sends it as it is: no second validation, no serialization on the sending thread.
/// Immutable, copyable, not tied to a client.
class prepared_message_post {
public:
    /// validate(body), then its JSON text. Fails as validate() does: client_errc::invalid_request, diag.message
    /// naming the field.
    static boost::system::result<prepared_message_post> prepare(const message_post& body, diagnostics& diag);
    /// The request body, as sent.
    const std::string& json() const noexcept { return json_; }

private:
    explicit prepared_message_post(std::string json) : json_(std::move(json)) {}
    std::string json_;
};

}  // namespace smooch

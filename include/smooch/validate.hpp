// SPDX-License-Identifier: BSL-1.0
#pragma once
// Request validation before sending: each rule docs/api-facts.md lists, with an error naming the field.
// Where the documentation is unsure, the request is accepted and the server decides.

#include <smooch/error.hpp>
#include <smooch/models.hpp>

#include <string_view>

namespace smooch {

/// Checks a message_post. On failure returns client_errc::invalid_request and sets diag.message to
/// "<field path>: <rule>", e.g. "items: a carousel needs 1 to 10 items, got 11".
error_code validate(const message_post& m, diagnostics& diag);
error_code validate(const conversation_activity& a, diagnostics& diag);
error_code validate(const get_messages_query& q, diagnostics& diag);
// Both body checks include "<path>: not valid UTF-8": every string (keys and raw JSON included) must be UTF-8.

}  // namespace smooch

// SPDX-License-Identifier: BSL-1.0
#pragma once
// validate() in two halves, for the API layer: it serializes the body anyway, so it checks UTF-8 once, on
// the text it sends.

#include <smooch/validate.hpp>

#include <string_view>

namespace smooch::detail {

/// validate() without its UTF-8 check.
error_code validate_fields(const message_post& m, diagnostics& diag);
error_code validate_fields(const conversation_activity& a, diagnostics& diag);
/// validate()'s UTF-8 check, on a serialized body: names the field of the first string that is not UTF-8.
error_code validate_utf8(std::string_view body, diagnostics& diag);

}  // namespace smooch::detail

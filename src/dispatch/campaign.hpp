// SPDX-License-Identifier: BSL-1.0
#pragma once
// Campaign lines: the file source (digest pass, then streamed), and parsing one line into what is posted.

#include <smooch/dispatch.hpp>
#include <smooch/models.hpp>
#include <smooch/validate.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace smooch::dispatch::detail {

/// A line ready to post: its key is already merged into the message's metadata.
struct prepared_line {
    std::uint64_t line = 0;
    std::string app, user, key;
    bool key_derived = false;  ///< The line named no key: key is default_key(campaign id, line).
    /// Validated and serialized where the line was parsed (the journal's thread): the sender only sends it.
    std::optional<prepared_message_post> body;
};

/// A line that can never be sent, and why (a sentence naming the field).
struct rejection {
    std::uint64_t line = 0;
    std::string description;
};

/// The key of a line that names none: "<first 16 hex digits of the campaign id>-<line>". Unique per campaign and
/// line, so a resumed run and reading back agree on it.
std::string default_key(std::string_view campaign_id, std::uint64_t line);

/// Parses and validates one campaign line. Never throws for bad input.
std::variant<prepared_line, rejection> parse_line(std::string_view text, std::uint64_t line,
                                                  std::string_view default_app, std::string_view campaign_id);

/// Longest accepted dispatch key, bytes (it travels in metadata, which the API limits).
inline constexpr std::size_t max_key_size = 256;

}  // namespace smooch::dispatch::detail

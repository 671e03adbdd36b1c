// SPDX-License-Identifier: BSL-1.0
#pragma once
// What the library's other layers need of the models' JSON code beyond <smooch/json.hpp>.

#include <smooch/json.hpp>

namespace smooch::detail {

/// parse() into an existing (default-constructed) T: no move of the result. On failure `out` is partly
/// filled and must be discarded. Instantiated for every model in json_parse.cpp.
template <class T>
error_code parse_into(std::string_view text, T& out, diagnostics& diag);

}  // namespace smooch::detail

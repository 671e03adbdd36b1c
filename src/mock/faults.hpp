// SPDX-License-Identifier: BSL-1.0
#pragma once
// Fault rules inside the engine: their checks, which rule fires for a request, and the answer it gives.
// (The grammar itself is the public parse_fault().) docs/mock.md "Faults".

#include "mock/engine_state.hpp"

#include <string_view>

namespace smooch::mock::detail {

/// Throws std::invalid_argument if a rule built in code could not be sent (parse_fault() checks the same).
void check_rule(const fault_rule& f, const char* what);

/// The first rule that matches and fires, or nullptr. Updates the rules' counters and draws from the RNG.
const fault_rule* pick_fault(engine_state& s, const route& rt, std::string_view method, std::string_view route_name);

/// Shapes `out` as fault `f` answers: `applied` says whether the request was processed for real (its own
/// response is then in `out`), `operation` gives the success status a broken response pretends to have.
void apply_fault(const fault_rule& f, bool applied, op operation, http_response& out);

}  // namespace smooch::mock::detail

// SPDX-License-Identifier: BSL-1.0
// validate() of the request models: a message_post or conversation_activity read from JSON (anything the type
// can hold), and a get_messages_query from raw bytes. validate() either accepts or names the field; an accepted
// body serializes to valid JSON.

#include <smooch/json.hpp>
#include <smooch/validate.hpp>

#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

template <class T>
void check_body(std::string_view text, const char* name)
{
    smooch::diagnostics diag;
    auto r = smooch::parse<T>(text, diag);
    if (!r) return;
    smooch::diagnostics vdiag;
    if (smooch::validate(*r, vdiag)) {
        if (vdiag.message.empty()) {
            std::fprintf(stderr, "validate(%s) failed without a message\n", name);
            std::abort();
        }
        return;
    }
    const std::string body = smooch::serialize(*r);
    boost::system::error_code ec;
    (void)boost::json::parse(body, ec);
    if (ec) {
        std::fprintf(stderr, "validate(%s) accepted a body that is not JSON: %s\n", name, body.c_str());
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    check_body<smooch::message_post>(text, "message_post");
    check_body<smooch::conversation_activity>(text, "conversation_activity");

    // The query: bytes up to the first NUL are `before`, the rest `after` (either may be absent).
    smooch::get_messages_query q;
    if (auto nul = text.find('\0'); nul == std::string_view::npos) {
        q.before = std::string(text);
    } else {
        if (nul > 0) q.before = std::string(text.substr(0, nul));
        q.after = std::string(text.substr(nul + 1));
    }
    smooch::diagnostics diag;
    if (smooch::validate(q, diag) && diag.message.empty()) {
        std::fprintf(stderr, "validate(get_messages_query) failed without a message\n");
        std::abort();
    }
    return 0;
}

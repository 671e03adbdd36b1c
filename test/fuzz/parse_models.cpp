// SPDX-License-Identifier: BSL-1.0
// parse<T>() of every model the client reads from a server (responses, error bodies, webhook payloads): any
// bytes give a value or an error with a message, never a crash. A value must serialize to JSON that parses back
// to an equal value (what the client reads it can also write, e.g. a stored message re-sent).

#include <smooch/json.hpp>
#include <smooch/webhook.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

template <class T>
void check(std::string_view text, const char* name)
{
    smooch::diagnostics diag;
    auto r = smooch::parse<T>(text, diag);
    if (!r) {
        if (diag.message.empty()) {
            std::fprintf(stderr, "parse<%s> failed without a message\n", name);
            std::abort();
        }
        return;
    }
    const std::string again = smooch::serialize(*r);
    smooch::diagnostics diag2;
    auto r2 = smooch::parse<T>(again, diag2);
    if (!r2 || !(*r2 == *r)) {
        std::fprintf(stderr, "parse<%s>: serialize() does not read back: %s (%s)\n", name, again.c_str(),
                     diag2.message.c_str());
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    check<smooch::message_response>(text, "message_response");
    check<smooch::get_messages_response>(text, "get_messages_response");
    check<smooch::activity_response>(text, "activity_response");
    check<smooch::api_error_body>(text, "api_error_body");
    check<smooch::conversation>(text, "conversation");
    check<smooch::message>(text, "message");
    check<smooch::webhook_payload>(text, "webhook_payload");
    return 0;
}

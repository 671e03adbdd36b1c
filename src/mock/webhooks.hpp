// SPDX-License-Identifier: BSL-1.0
#pragma once
// Webhooks inside the engine (sans-I/O): the settings, the outbox of payloads the operations produce, the trigger
// filter, the duplicate fault, and the record of attempts with the retry decision. The HTTP(S) POSTs are the
// server's (webhook_sender.cpp). docs/mock.md "Webhooks".

#include <smooch/mock/engine.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string_view>

namespace smooch::mock::detail {

struct context;
struct conversation_state;
struct engine_state;

struct webhook_state {
    std::shared_ptr<const webhook_params> params;  // nullptr: off
    std::deque<webhook_delivery> outbox;
    std::atomic<std::size_t> queued{0};  // outbox.size(), readable without the mutex
    std::uint64_t next_id = 0;
    std::uint64_t attempts = 0;  // attempts begun, for fail_first
};

/// After a message was stored in `c`: message:appUser or message:appMaker, if subscribed. Mutex held.
void webhook_for_message(context& ctx, const conversation_state& c, const message_record& m, std::string_view role);
/// After reset_unread_count: conversation:read, if subscribed. Mutex held.
void webhook_for_read(context& ctx, const conversation_state& c);

}  // namespace smooch::mock::detail

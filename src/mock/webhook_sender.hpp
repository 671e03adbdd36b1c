// SPDX-License-Identifier: BSL-1.0
#pragma once
// The Asio side of webhooks: takes deliveries from the engine's outbox and POSTs them over http or https, one
// connection per attempt, each attempt bounded by webhook_params::attempt_timeout, retried as the engine decides.
// Uses Beast directly, never the smooch client (the mock is an independent oracle). docs/mock.md "Webhooks".

#include <smooch/mock/engine.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <list>
#include <memory>

namespace smooch::mock::detail {

class webhook_sender : public std::enable_shared_from_this<webhook_sender> {
public:
    webhook_sender(boost::asio::any_io_executor ex, engine& eng) : ex_(std::move(ex)), eng_(eng) {}
    /// Set once by the server: deliveries keep it alive while they run (the engine lives in it).
    void set_owner(std::weak_ptr<void> owner) { owner_ = std::move(owner); }
    /// On the executor: starts deliveries from the outbox while fewer than max_in_flight are under way.
    void wake();
    /// On the executor: aborts every attempt and wait; nothing more is sent.
    void stop();

    struct config;
    struct delivery_state;

private:
    boost::asio::awaitable<void> deliver(std::shared_ptr<void> owner, std::shared_ptr<const config> cfg,
                                         webhook_delivery d);

    boost::asio::any_io_executor ex_;
    engine& eng_;
    std::weak_ptr<void> owner_;
    std::shared_ptr<const config> cfg_;  // built from the engine's settings when they change
    std::list<std::shared_ptr<delivery_state>> active_;
    std::size_t in_flight_ = 0;
    bool stopped_ = false;
};

}  // namespace smooch::mock::detail

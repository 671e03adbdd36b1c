// SPDX-License-Identifier: BSL-1.0
#pragma once
// Tells the pools that hold connections of an execution context when that context is destroyed, so that its
// idle connections (whose sockets belong to it) close while it is still whole, instead of dangling until the
// client next touches them. One service per execution_context; pools register on their first lease there.

#include <boost/asio/execution_context.hpp>

#include <memory>
#include <mutex>
#include <vector>

namespace smooch::detail {

/// What a pool does when one of its contexts goes away.
class context_user {
public:
    virtual void drop_context(const void* context) = 0;

protected:
    ~context_user() = default;
};

class context_watch final : public boost::asio::execution_context::service {
public:
    static inline boost::asio::execution_context::id id;

    explicit context_watch(boost::asio::execution_context& ctx) : service(ctx), ctx_(&ctx) {}

    void watch(std::weak_ptr<context_user> user)
    {
        std::lock_guard lk(mu_);
        std::erase_if(users_, [](const auto& u) { return u.expired(); });
        users_.push_back(std::move(user));
    }

private:
    void shutdown() override
    {
        std::vector<std::weak_ptr<context_user>> users;
        {
            std::lock_guard lk(mu_);
            users.swap(users_);
        }
        for (auto& u : users)
            if (auto p = u.lock()) p->drop_context(ctx_);
    }

    const void* ctx_;
    std::mutex mu_;
    std::vector<std::weak_ptr<context_user>> users_;
};

}  // namespace smooch::detail

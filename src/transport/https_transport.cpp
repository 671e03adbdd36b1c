// SPDX-License-Identifier: BSL-1.0
// The pool over HTTPS connections: the one instantiation of basic_pool in the library.

#include "transport/https_transport.hpp"

#include "pool/pool.hpp"
#include "transport/https_connector.hpp"

#include <boost/asio/steady_timer.hpp>

namespace smooch::detail {
namespace {

using https_pool = basic_pool<connection, boost::asio::steady_timer>;

/// Owned by shared_ptr: an attempt in flight keeps the pool and its connector alive after the client is gone.
struct https_state {
    https_state(const client_params& p, const origin& o, atomic_counters& stats)
        : connector(p, o, stats), pool(std::make_shared<https_pool>(p.pool, stats))
    {}
    https_connector connector;
    std::shared_ptr<https_pool> pool;
};

class https_transport final : public transport {
public:
    https_transport(const client_params& p, const origin& o, atomic_counters& stats)
        : state_(std::make_shared<https_state>(p, o, stats))
    {}
    ~https_transport() override { state_->pool->shutdown(); }

    boost::asio::awaitable<attempt_result> run(const outgoing_request& req, clock::time_point deadline,
                                               attempt_hooks& hooks) override
    {
        auto keep = state_;
        co_return co_await keep->pool->run(keep->connector, req, deadline, hooks);
    }
    std::size_t open_connections() const override { return state_->pool->open(); }
    void shutdown() override { state_->pool->shutdown(); }

private:
    std::shared_ptr<https_state> state_;
};

}  // namespace

std::unique_ptr<transport> make_https_transport(const client_params& p, const origin& o, atomic_counters& stats)
{
    return std::make_unique<https_transport>(p, o, stats);
}

}  // namespace smooch::detail

// SPDX-License-Identifier: BSL-1.0
// smooch::client: builds the layers from client_params and exposes counters and shutdown.

#include "client/client_impl.hpp"

#include "credentials/authorizer.hpp"
#include "transport/https_transport.hpp"

namespace smooch {
namespace detail {
namespace {

origin checked_origin(const std::string& url)
{
    diagnostics diag;
    error_code ec;
    origin o = parse_base_url(url, diag, ec);
    if (ec) throw error(ec, diag);
    return o;
}

}  // namespace

client_impl::client_impl(boost::asio::any_io_executor ex, client_params p)
    : executor(std::move(ex)), params(std::move(p)), base(checked_origin(params.base_url))
{
    authorizer(params.credentials).check();  // before the TLS settings: the same order of errors as ever
    net = make_https_transport(params, base, stats);
    calls = std::make_unique<pipeline>(params, *net, stats);
}

}  // namespace detail

client::client(boost::asio::any_io_executor ex, client_params params)
    : impl_(std::make_shared<detail::client_impl>(std::move(ex), std::move(params)))
{}

client::~client() = default;

boost::asio::any_io_executor client::get_executor() const noexcept { return impl_->executor; }
const client_params& client::params() const noexcept { return impl_->params; }
smooch::counters client::counters() const { return impl_->stats.snapshot(); }
std::size_t client::open_connections() const { return impl_->net->open_connections(); }
void client::shutdown() { impl_->net->shutdown(); }

}  // namespace smooch

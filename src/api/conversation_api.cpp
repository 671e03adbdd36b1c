// SPDX-License-Identifier: BSL-1.0
// smooch::conversation_api: the public operations over detail::call. The async_X forms spawn the call's
// coroutine on the handler's executor and complete the type-erased handler; the awaitable forms run it directly
// in the caller's coroutine (no spawn, no handler: the fast path) and throw smooch::error.

#include <smooch/conversation_api.hpp>

#include "api/call.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/co_spawn.hpp>

#include <tuple>

namespace smooch {
namespace {

namespace asio = boost::asio;

/// Runs a call and throws on failure: the awaitable forms.
template <class T>
asio::awaitable<T> perform_or_throw(detail::call c)
{
    T out{};
    diagnostics diag;
    const error_code ec = co_await detail::perform(c, out, diag);
    throw_on_error(ec, diag);
    co_return out;
}

/// The call's coroutine, for async_X: its diagnostics go to `diag` (or nowhere).
template <class T>
asio::awaitable<std::tuple<error_code, T>> perform_for_handler(std::shared_ptr<detail::call> c, diagnostics* diag)
{
    T out{};
    diagnostics own;
    const error_code ec = co_await detail::perform(*c, out, diag ? *diag : own);
    co_return std::tuple<error_code, T>{
        ec, std::move(out)};  // perform() leaves it default on errors (a walk: the count so far)
}

/// co_spawn's completion, handed to the caller's handler with the handler's own executor, cancellation slot and
/// allocator (co_spawn looks them up on this object).
template <class T>
struct complete_handler {
    asio::any_completion_handler<void(error_code, T)> handler;
    asio::any_io_executor executor;

    using executor_type = asio::any_io_executor;
    executor_type get_executor() const noexcept { return executor; }
    using cancellation_slot_type = asio::cancellation_slot;
    cancellation_slot_type get_cancellation_slot() const noexcept { return handler.get_cancellation_slot(); }
    using allocator_type = typename asio::any_completion_handler<void(error_code, T)>::allocator_type;
    allocator_type get_allocator() const noexcept { return handler.get_allocator(); }

    void operator()(std::exception_ptr e, std::tuple<error_code, T> r)
    {
        // Only an exception of the caller's own (a walk_history callback that threw) gets here: like any
        // handler's exception, it leaves through the io_context's run().
        if (e) std::rethrow_exception(e);
        std::move(handler)(std::get<0>(r), std::move(std::get<1>(r)));
    }
};

}  // namespace

struct conversation_api::prepared_call : detail::call {
    explicit prepared_call(detail::call c) : detail::call(std::move(c)) {}
};

conversation_api::conversation_api(client& c) : impl_(detail::access::impl(c)) {}

asio::any_io_executor conversation_api::get_executor() const noexcept { return impl_->executor; }

template <class T>
void conversation_api::start(prepared p, diagnostics* diag, asio::any_io_executor run_on, asio::any_io_executor done_on,
                             asio::any_completion_handler<void(error_code, T)> handler)
{
    std::shared_ptr<detail::call> c(std::move(p));
    asio::co_spawn(run_on, perform_for_handler<T>(std::move(c), diag),
                   complete_handler<T>{std::move(handler), std::move(done_on)});
}

template void conversation_api::start(prepared, diagnostics*, asio::any_io_executor, asio::any_io_executor,
                                      asio::any_completion_handler<void(error_code, activity_response)>);
template void conversation_api::start(prepared, diagnostics*, asio::any_io_executor, asio::any_io_executor,
                                      asio::any_completion_handler<void(error_code, done)>);
template void conversation_api::start(prepared, diagnostics*, asio::any_io_executor, asio::any_io_executor,
                                      asio::any_completion_handler<void(error_code, get_messages_response)>);
template void conversation_api::start(prepared, diagnostics*, asio::any_io_executor, asio::any_io_executor,
                                      asio::any_completion_handler<void(error_code, message_response)>);
template void conversation_api::start(prepared, diagnostics*, asio::any_io_executor, asio::any_io_executor,
                                      asio::any_completion_handler<void(error_code, std::size_t)>);

template <class T>
asio::awaitable<std::tuple<error_code, T>> conversation_api::run_as_tuple(prepared p, diagnostics* diag)
{
    std::tuple<error_code, T> r;  // filled in place: a model is not cheap to move
    diagnostics own;
    std::get<0>(r) = co_await detail::perform(*p, std::get<1>(r), diag ? *diag : own);
    co_return r;
}

template <class T>
asio::awaitable<T> conversation_api::run_or_throw(prepared p)
{
    T out{};
    diagnostics diag;
    const error_code ec = co_await detail::perform(*p, out, diag);
    throw_on_error(ec, diag);
    co_return out;
}

#define SMOOCH_FAST_PATHS(T)                                                                                           \
    template asio::awaitable<std::tuple<error_code, T>> conversation_api::run_as_tuple<T>(prepared, diagnostics*);     \
    template asio::awaitable<T> conversation_api::run_or_throw<T>(prepared);
SMOOCH_FAST_PATHS(activity_response)
SMOOCH_FAST_PATHS(done)
SMOOCH_FAST_PATHS(get_messages_response)
SMOOCH_FAST_PATHS(message_response)
SMOOCH_FAST_PATHS(std::size_t)
#undef SMOOCH_FAST_PATHS

// ---------------------------------------------------------------------------------------- building the calls

conversation_api::prepared conversation_api::prepare_activity(std::string_view app, std::string_view user,
                                                              const smooch::conversation_activity& body,
                                                              const call_options& opts) const
{
    return std::make_shared<prepared_call>(detail::make_activity(impl_, app, user, body, opts));
}
conversation_api::prepared conversation_api::prepare_delete_message(std::string_view app, std::string_view user,
                                                                    std::string_view message_id,
                                                                    const call_options& opts) const
{
    return std::make_shared<prepared_call>(detail::make_delete_message(impl_, app, user, message_id, opts));
}
conversation_api::prepared conversation_api::prepare_delete_messages(std::string_view app, std::string_view user,
                                                                     const call_options& opts) const
{
    return std::make_shared<prepared_call>(detail::make_delete_messages(impl_, app, user, opts));
}
conversation_api::prepared conversation_api::prepare_get_messages(std::string_view app, std::string_view user,
                                                                  const get_messages_query& query,
                                                                  const call_options& opts) const
{
    return std::make_shared<prepared_call>(detail::make_get_messages(impl_, app, user, query, opts));
}
conversation_api::prepared conversation_api::prepare_post_message(std::string_view app, std::string_view user,
                                                                  const message_post& body,
                                                                  const call_options& opts) const
{
    return std::make_shared<prepared_call>(detail::make_post_message(impl_, app, user, body, opts));
}
conversation_api::prepared conversation_api::prepare_post_message(std::string_view app, std::string_view user,
                                                                  const prepared_message_post& body,
                                                                  const call_options& opts) const
{
    return std::make_shared<prepared_call>(detail::make_post_message(impl_, app, user, body, opts));
}
conversation_api::prepared conversation_api::prepare_reset_unread_count(std::string_view app, std::string_view user,
                                                                        const call_options& opts) const
{
    return std::make_shared<prepared_call>(detail::make_reset_unread_count(impl_, app, user, opts));
}
conversation_api::prepared conversation_api::prepare_walk(std::string_view app, std::string_view user,
                                                          walk_direction direction,
                                                          std::function<void(const message&)> on_message,
                                                          const call_options& opts) const
{
    return std::make_shared<prepared_call>(detail::make_walk(impl_, app, user, direction, std::move(on_message), opts));
}

// ----------------------------------------------------------------------------------------- awaitable forms

asio::awaitable<activity_response> conversation_api::conversation_activity(std::string_view app_id,
                                                                           std::string_view user_id,
                                                                           const smooch::conversation_activity& body,
                                                                           call_options opts)
{
    return perform_or_throw<activity_response>(detail::make_activity(impl_, app_id, user_id, body, opts));
}
asio::awaitable<done> conversation_api::delete_message(std::string_view app_id, std::string_view user_id,
                                                       std::string_view message_id, call_options opts)
{
    return perform_or_throw<done>(detail::make_delete_message(impl_, app_id, user_id, message_id, opts));
}
asio::awaitable<done> conversation_api::delete_messages(std::string_view app_id, std::string_view user_id,
                                                        call_options opts)
{
    return perform_or_throw<done>(detail::make_delete_messages(impl_, app_id, user_id, opts));
}
asio::awaitable<get_messages_response> conversation_api::get_messages(std::string_view app_id, std::string_view user_id,
                                                                      get_messages_query query, call_options opts)
{
    return perform_or_throw<get_messages_response>(detail::make_get_messages(impl_, app_id, user_id, query, opts));
}
asio::awaitable<message_response> conversation_api::post_message(std::string_view app_id, std::string_view user_id,
                                                                 const message_post& body, call_options opts)
{
    return perform_or_throw<message_response>(detail::make_post_message(impl_, app_id, user_id, body, opts));
}
asio::awaitable<message_response> conversation_api::post_message(std::string_view app_id, std::string_view user_id,
                                                                 const prepared_message_post& body, call_options opts)
{
    return perform_or_throw<message_response>(detail::make_post_message(impl_, app_id, user_id, body, opts));
}
asio::awaitable<done> conversation_api::reset_unread_count(std::string_view app_id, std::string_view user_id,
                                                           call_options opts)
{
    return perform_or_throw<done>(detail::make_reset_unread_count(impl_, app_id, user_id, opts));
}
asio::awaitable<std::size_t> conversation_api::walk_history(std::string_view app_id, std::string_view user_id,
                                                            walk_direction direction,
                                                            std::function<void(const message&)> on_message,
                                                            call_options opts)
{
    return perform_or_throw<std::size_t>(
        detail::make_walk(impl_, app_id, user_id, direction, std::move(on_message), opts));
}

}  // namespace smooch

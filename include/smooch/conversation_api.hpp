// SPDX-License-Identifier: BSL-1.0
#pragma once
// The six Conversation API operations, and a walk over a whole conversation.
//
//   smooch::conversation_api api{client};
//   smooch::message_response r = co_await api.post_message("app_1", "user_1", msg);       // throws smooch::error
//   auto [ec, r2] = co_await api.async_post_message("app_1", "user_1", msg, diag,
//                                                   boost::asio::as_tuple(boost::asio::use_awaitable));
//   api.async_post_message("app_1", "user_1", msg, [](smooch::error_code ec, smooch::message_response r) {...});
//
// Each operation comes in two shapes:
// - `X(args..., call_options = {})` returns `boost::asio::awaitable<T>` and throws smooch::error (error code +
//   diagnostics) on failure: the coroutine spelling.
// - `async_X(args..., [diagnostics& diag,] [const call_options& opts,] token)` takes any Asio completion token
//   (callbacks, use_awaitable, deferred (the default), use_future, as_tuple(...), bind_cancellation_slot,
//   bind_executor...) and completes with `void(error_code, T)`. The diagnostics of the call go to `diag` when
//   given (else they are dropped). It never throws for API, transport or validation failures.
//
// What holds for every async_X (and X):
// - Handler: void(error_code ec, T value); `value` is default-constructed when ec is set (for walk_history:
//   the number of messages visited before the error).
// - Executor: the handler runs on its associated executor; without one, on the client's executor. The call's
//   own work (waits, I/O) runs on that same executor. Connections belong to the execution context they were
//   opened on, and are reused only by calls on it (docs/client.md, "Executors").
// - Lifetimes: every argument (ids, bodies, options) is copied before async_X returns, so temporaries are fine
//   (but see the g++ 12 note in the README); `diag` must stay alive until the handler runs. The client (and this
//   object) may be destroyed while calls are in flight: each call keeps what it needs alive.
// - Cancellation: the handler's associated cancellation slot (bind_cancellation_slot, parallel groups, `||` of
//   awaitable operators) with cancellation_type::terminal, at any time: waiting at the app's gate, in a backoff,
//   queued for a connection, connecting, or during the exchange. The call then ends with operation_aborted
//   (diag.stop_reason == cancelled); a connection cancelled mid-exchange is closed, never reused. Once a
//   post_message's request may have left, cancelling it sets diag.outcome_unknown: the message may exist.
//   Partial and total cancellation are not supported (ignored): an exchange cannot be undone part-way.
// - Errors: client_errc (validation: invalid_request naming the field; deadline_exceeded, rate_limited,
//   outcome_unknown, retry_budget_exhausted, pool_queue_full, response_too_large, bad_response,
//   connection_closed, client_stopped...), an HTTP status (smooch.http category, value == status, with the API's
//   error code and description in diag), or the transport's own error (asio, ssl). docs/retries.md says which
//   failures are retried.
// - Thread safety: any number of calls may run concurrently on one client, from any thread.
// - Ids are percent-encoded per path segment: any string (slashes, '?', '#', '%', CR/LF, UTF-8) is safe.

#include <smooch/client.hpp>
#include <smooch/models.hpp>
#include <smooch/validate.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace boost::asio {
template <typename Blocking, typename Relationship, typename Allocator>
class basic_system_executor;
namespace detail {
template <typename T, typename Blocking>
class promise_executor;  // use_future's handler executor
}  // namespace detail
}  // namespace boost::asio

namespace smooch {

namespace detail {
/// Executors whose work runs on threads of Asio's own (the system context): use_future's, system_executor.
template <class Executor>
struct on_asio_threads : std::false_type {};
template <class T, class B>
struct on_asio_threads<boost::asio::detail::promise_executor<T, B>> : std::true_type {};
template <class B, class R, class A>
struct on_asio_threads<boost::asio::basic_system_executor<B, R, A>> : std::true_type {};
}  // namespace detail

/// The value of operations whose success has no body (delete_message, delete_messages, reset_unread_count).
struct done {
    unsigned status = 0;  ///< The 2xx status the server answered with (404 with by_earlier_attempt).
    /// delete_message only: an earlier attempt may have been applied (it was cut off after sending) and the
    /// retry found the message gone (404): the deletion is taken as done, by that earlier attempt.
    bool by_earlier_attempt = false;
};

/// Which way walk_history walks.
enum class walk_direction { oldest_first, newest_first };

/// The default completion token of async_X: `co_await api.async_X(...)` works in a coroutine, and the deferred
/// operation can be composed before it is launched.
using default_token = boost::asio::deferred_t;

class conversation_api {
public:
    /// Shares the client's internals: the api may outlive `c`, and calls in flight keep them alive.
    explicit conversation_api(client& c);

    /// The client's executor: where handlers without an associated executor run.
    boost::asio::any_io_executor get_executor() const noexcept;

    // --- conversation_activity: POST /v1.1/apps/{app}/appusers/{user}/conversation/activity
    /// Typing indicators and conversation:read. Validated (docs/api-facts.md, "Conversation activity") before sending. Retried as idempotent.
    boost::asio::awaitable<activity_response> conversation_activity(std::string_view app_id, std::string_view user_id,
                                                                    const smooch::conversation_activity& body,
                                                                    call_options opts = {});
    template <class CompletionToken = default_token>
    auto async_conversation_activity(std::string_view app_id, std::string_view user_id,
                                     const smooch::conversation_activity& body, diagnostics& diag,
                                     const call_options& opts, CompletionToken&& token = {})
    {
        return initiate<activity_response>(prepare_activity(app_id, user_id, body, opts), &diag,
                                           std::forward<CompletionToken>(token));
    }
    template <class CompletionToken = default_token>
    auto async_conversation_activity(std::string_view app_id, std::string_view user_id,
                                     const smooch::conversation_activity& body, diagnostics& diag,
                                     CompletionToken&& token = {})
    {
        return initiate<activity_response>(prepare_activity(app_id, user_id, body, {}), &diag,
                                           std::forward<CompletionToken>(token));
    }
    template <class CompletionToken = default_token>
    auto async_conversation_activity(std::string_view app_id, std::string_view user_id,
                                     const smooch::conversation_activity& body, CompletionToken&& token = {})
    {
        return initiate<activity_response>(prepare_activity(app_id, user_id, body, {}), nullptr,
                                           std::forward<CompletionToken>(token));
    }

    // --- delete_message: DELETE /v1.1/apps/{app}/appusers/{user}/messages/{message_id}
    boost::asio::awaitable<done> delete_message(std::string_view app_id, std::string_view user_id,
                                                std::string_view message_id, call_options opts = {});
    template <class CompletionToken = default_token>
    auto async_delete_message(std::string_view app_id, std::string_view user_id, std::string_view message_id,
                              diagnostics& diag, const call_options& opts, CompletionToken&& token = {})
    {
        return initiate<done>(prepare_delete_message(app_id, user_id, message_id, opts), &diag,
                              std::forward<CompletionToken>(token));
    }
    template <class CompletionToken = default_token>
    auto async_delete_message(std::string_view app_id, std::string_view user_id, std::string_view message_id,
                              diagnostics& diag, CompletionToken&& token = {})
    {
        return initiate<done>(prepare_delete_message(app_id, user_id, message_id, {}), &diag,
                              std::forward<CompletionToken>(token));
    }
    template <class CompletionToken = default_token>
    auto async_delete_message(std::string_view app_id, std::string_view user_id, std::string_view message_id,
                              CompletionToken&& token = {})
    {
        return initiate<done>(prepare_delete_message(app_id, user_id, message_id, {}), nullptr,
                              std::forward<CompletionToken>(token));
    }

    // --- delete_messages: DELETE /v1.1/apps/{app}/appusers/{user}/messages (the whole conversation's messages)
    boost::asio::awaitable<done> delete_messages(std::string_view app_id, std::string_view user_id,
                                                 call_options opts = {});
    template <class CompletionToken = default_token>
    auto async_delete_messages(std::string_view app_id, std::string_view user_id, diagnostics& diag,
                               const call_options& opts, CompletionToken&& token = {})
    {
        return initiate<done>(prepare_delete_messages(app_id, user_id, opts), &diag,
                              std::forward<CompletionToken>(token));
    }
    template <class CompletionToken = default_token>
    auto async_delete_messages(std::string_view app_id, std::string_view user_id, diagnostics& diag,
                               CompletionToken&& token = {})
    {
        return initiate<done>(prepare_delete_messages(app_id, user_id, {}), &diag,
                              std::forward<CompletionToken>(token));
    }
    template <class CompletionToken = default_token>
    auto async_delete_messages(std::string_view app_id, std::string_view user_id, CompletionToken&& token = {})
    {
        return initiate<done>(prepare_delete_messages(app_id, user_id, {}), nullptr,
                              std::forward<CompletionToken>(token));
    }

    // --- get_messages: GET /v1.1/apps/{app}/appusers/{user}/messages[?before=|?after=]
    /// At most 100 messages, ascending by `received`. `before`/`after` are exclusive and mutually exclusive.
    boost::asio::awaitable<get_messages_response> get_messages(std::string_view app_id, std::string_view user_id,
                                                               get_messages_query query = {}, call_options opts = {});
    template <class CompletionToken = default_token>
    auto async_get_messages(std::string_view app_id, std::string_view user_id, const get_messages_query& query,
                            diagnostics& diag, const call_options& opts, CompletionToken&& token = {})
    {
        return initiate<get_messages_response>(prepare_get_messages(app_id, user_id, query, opts), &diag,
                                               std::forward<CompletionToken>(token));
    }
    template <class CompletionToken = default_token>
    auto async_get_messages(std::string_view app_id, std::string_view user_id, const get_messages_query& query,
                            diagnostics& diag, CompletionToken&& token = {})
    {
        return initiate<get_messages_response>(prepare_get_messages(app_id, user_id, query, {}), &diag,
                                               std::forward<CompletionToken>(token));
    }
    template <class CompletionToken = default_token>
    auto async_get_messages(std::string_view app_id, std::string_view user_id, const get_messages_query& query,
                            CompletionToken&& token = {})
    {
        return initiate<get_messages_response>(prepare_get_messages(app_id, user_id, query, {}), nullptr,
                                               std::forward<CompletionToken>(token));
    }

    // --- post_message: POST /v1.1/apps/{app}/appusers/{user}/messages
    /// Validated (docs/api-facts.md, "Message post body" and after) before sending. Not idempotent: by default never retried once the
    /// request may have reached the server (then client_errc::outcome_unknown, diag.outcome_unknown).
    boost::asio::awaitable<message_response> post_message(std::string_view app_id, std::string_view user_id,
                                                          const message_post& body, call_options opts = {});
    template <class CompletionToken = default_token>
    auto async_post_message(std::string_view app_id, std::string_view user_id, const message_post& body,
                            diagnostics& diag, const call_options& opts, CompletionToken&& token = {})
    {
        return initiate<message_response>(prepare_post_message(app_id, user_id, body, opts), &diag,
                                          std::forward<CompletionToken>(token));
    }
    template <class CompletionToken = default_token>
    auto async_post_message(std::string_view app_id, std::string_view user_id, const message_post& body,
                            diagnostics& diag, CompletionToken&& token = {})
    {
        return initiate<message_response>(prepare_post_message(app_id, user_id, body, {}), &diag,
                                          std::forward<CompletionToken>(token));
    }
    template <class CompletionToken = default_token>
    auto async_post_message(std::string_view app_id, std::string_view user_id, const message_post& body,
                            CompletionToken&& token = {})
    {
        return initiate<message_response>(prepare_post_message(app_id, user_id, body, {}), nullptr,
                                          std::forward<CompletionToken>(token));
    }

    /// The same, with a body validated and serialized beforehand (<smooch/validate.hpp>): sent as it is.
    boost::asio::awaitable<message_response> post_message(std::string_view app_id, std::string_view user_id,
                                                          const prepared_message_post& body, call_options opts = {});
    template <class CompletionToken = default_token>
    auto async_post_message(std::string_view app_id, std::string_view user_id, const prepared_message_post& body,
                            diagnostics& diag, const call_options& opts, CompletionToken&& token = {})
    {
        return initiate<message_response>(prepare_post_message(app_id, user_id, body, opts), &diag,
                                          std::forward<CompletionToken>(token));
    }
    template <class CompletionToken = default_token>
    auto async_post_message(std::string_view app_id, std::string_view user_id, const prepared_message_post& body,
                            diagnostics& diag, CompletionToken&& token = {})
    {
        return initiate<message_response>(prepare_post_message(app_id, user_id, body, {}), &diag,
                                          std::forward<CompletionToken>(token));
    }
    template <class CompletionToken = default_token>
    auto async_post_message(std::string_view app_id, std::string_view user_id, const prepared_message_post& body,
                            CompletionToken&& token = {})
    {
        return initiate<message_response>(prepare_post_message(app_id, user_id, body, {}), nullptr,
                                          std::forward<CompletionToken>(token));
    }

    // --- reset_unread_count: POST /v1.1/apps/{app}/appusers/{user}/conversation/read
    boost::asio::awaitable<done> reset_unread_count(std::string_view app_id, std::string_view user_id,
                                                    call_options opts = {});
    template <class CompletionToken = default_token>
    auto async_reset_unread_count(std::string_view app_id, std::string_view user_id, diagnostics& diag,
                                  const call_options& opts, CompletionToken&& token = {})
    {
        return initiate<done>(prepare_reset_unread_count(app_id, user_id, opts), &diag,
                              std::forward<CompletionToken>(token));
    }
    template <class CompletionToken = default_token>
    auto async_reset_unread_count(std::string_view app_id, std::string_view user_id, diagnostics& diag,
                                  CompletionToken&& token = {})
    {
        return initiate<done>(prepare_reset_unread_count(app_id, user_id, {}), &diag,
                              std::forward<CompletionToken>(token));
    }
    template <class CompletionToken = default_token>
    auto async_reset_unread_count(std::string_view app_id, std::string_view user_id, CompletionToken&& token = {})
    {
        return initiate<done>(prepare_reset_unread_count(app_id, user_id, {}), nullptr,
                              std::forward<CompletionToken>(token));
    }

    // --- walk_history: pages of get_messages over the whole conversation
    /// Calls `on_message` once per message (on the call's executor), oldest first or newest first. Never skips
    /// or repeats a message, even when several share one `received` value at a page boundary (the API's
    /// before/after bounds are exclusive): the walker re-reads the boundary timestamp and de-duplicates by
    /// `_id`. Completes with the number of messages visited; on an error, with the number visited before it.
    /// Each page is one get_messages call with `opts` (its own deadline and retries).
    boost::asio::awaitable<std::size_t> walk_history(std::string_view app_id, std::string_view user_id,
                                                     walk_direction direction,
                                                     std::function<void(const message&)> on_message,
                                                     call_options opts = {});
    template <class CompletionToken = default_token>
    auto async_walk_history(std::string_view app_id, std::string_view user_id, walk_direction direction,
                            std::function<void(const message&)> on_message, diagnostics& diag, const call_options& opts,
                            CompletionToken&& token = {})
    {
        return initiate<std::size_t>(prepare_walk(app_id, user_id, direction, std::move(on_message), opts), &diag,
                                     std::forward<CompletionToken>(token));
    }
    template <class CompletionToken = default_token>
    auto async_walk_history(std::string_view app_id, std::string_view user_id, walk_direction direction,
                            std::function<void(const message&)> on_message, diagnostics& diag,
                            CompletionToken&& token = {})
    {
        return initiate<std::size_t>(prepare_walk(app_id, user_id, direction, std::move(on_message), {}), &diag,
                                     std::forward<CompletionToken>(token));
    }
    template <class CompletionToken = default_token>
    auto async_walk_history(std::string_view app_id, std::string_view user_id, walk_direction direction,
                            std::function<void(const message&)> on_message, CompletionToken&& token = {})
    {
        return initiate<std::size_t>(prepare_walk(app_id, user_id, direction, std::move(on_message), {}), nullptr,
                                     std::forward<CompletionToken>(token));
    }

private:
    /// A call with everything it needs, owned (built when async_X is called; opaque here).
    struct prepared_call;
    using prepared = std::shared_ptr<prepared_call>;

    prepared prepare_activity(std::string_view app, std::string_view user, const smooch::conversation_activity& body,
                              const call_options& opts) const;
    prepared prepare_delete_message(std::string_view app, std::string_view user, std::string_view message_id,
                                    const call_options& opts) const;
    prepared prepare_delete_messages(std::string_view app, std::string_view user, const call_options& opts) const;
    prepared prepare_get_messages(std::string_view app, std::string_view user, const get_messages_query& query,
                                  const call_options& opts) const;
    prepared prepare_post_message(std::string_view app, std::string_view user, const message_post& body,
                                  const call_options& opts) const;
    prepared prepare_post_message(std::string_view app, std::string_view user, const prepared_message_post& body,
                                  const call_options& opts) const;
    prepared prepare_reset_unread_count(std::string_view app, std::string_view user, const call_options& opts) const;
    prepared prepare_walk(std::string_view app, std::string_view user, walk_direction direction,
                          std::function<void(const message&)> on_message, const call_options& opts) const;

    /// Runs `p` on `run_on` and completes the handler through `done_on` (its associated executor, else the
    /// client's). Compiled: defined in the library for each result type, so no coroutine machinery lands in a
    /// caller's TU.
    template <class T>
    static void start(prepared p, diagnostics* diag, boost::asio::any_io_executor run_on,
                      boost::asio::any_io_executor done_on,
                      boost::asio::any_completion_handler<void(error_code, T)> handler);

    template <class T>
    struct initiation {
        boost::asio::any_io_executor client_executor;
        template <class Handler>
        void operator()(Handler&& handler, prepared p, diagnostics* diag) const
        {
            // A handler of use_future names an executor of Asio's own threads: such a call runs on the client's
            // executor, so no part of it runs on a thread the user did not start (the pool's connections belong
            // to an io_context the user runs); the handler still completes through its own executor.
            using handler_executor =
                boost::asio::associated_executor_t<std::decay_t<Handler>, boost::asio::any_io_executor>;
            boost::asio::any_io_executor done_on = boost::asio::get_associated_executor(handler, client_executor);
            boost::asio::any_io_executor run_on =
                detail::on_asio_threads<handler_executor>::value ? client_executor : done_on;
            start<T>(std::move(p), diag, std::move(run_on), std::move(done_on),
                     boost::asio::any_completion_handler<void(error_code, T)>(std::forward<Handler>(handler)));
        }
    };

    /// The coroutine tokens' fast path: the call runs in the awaiting coroutine itself, as the awaitable forms
    /// do, with the same completion semantics (on the coroutine's executor, its cancellation slot) and none of a
    /// spawned coroutine's and a type-erased handler's cost. as_tuple(use_awaitable) never throws;
    /// use_awaitable throws smooch::error, a boost::system::system_error.
    template <class T>
    static boost::asio::awaitable<std::tuple<error_code, T>> run_as_tuple(prepared p, diagnostics* diag);
    template <class T>
    static boost::asio::awaitable<T> run_or_throw(prepared p);

    template <class T, class CompletionToken>
    auto initiate(prepared p, diagnostics* diag, CompletionToken&& token) const
    {
        using token_type = std::decay_t<CompletionToken>;
        if constexpr (std::is_same_v<token_type, boost::asio::as_tuple_t<boost::asio::use_awaitable_t<>>>) {
            return run_as_tuple<T>(std::move(p), diag);
        } else if constexpr (std::is_same_v<token_type, boost::asio::use_awaitable_t<>>) {
            return run_or_throw<T>(std::move(p));
        } else {
            return boost::asio::async_initiate<CompletionToken, void(error_code, T)>(initiation<T>{get_executor()},
                                                                                     token, std::move(p), diag);
        }
    }

    std::shared_ptr<detail::client_impl> impl_;
};

}  // namespace smooch

#pragma once
// The six Conversation API operations as C++20 coroutines.
//
//   smooch::conversation_api api{client};
//   smooch::message_response r = co_await api.post_message("app_1", "user_1", msg);
//
// Every operation:
// - Executor: runs on the awaiting coroutine's executor; I/O completes there.
// - Errors: the plain form throws smooch::error (code + diagnostics); the try_ form returns
//   smooch::outcome<T> and never throws for API, transport or validation failures.
// - Cancellation: per-operation (the awaiting coroutine's cancellation slot), so timeouts compose from
//   outside: `co_await (api.get_messages(...) || timer.async_wait(use_awaitable))`, bind_cancellation_slot,
//   parallel groups. A connection cancelled mid-request is closed, never returned to the pool.
// - Ids are percent-encoded per path segment: any string (slashes, '?', '#', '%', CR/LF, UTF-8) is safe.
// - Thread-safety: any number of calls may run concurrently on one client, from any thread.

#include <smooch/client.hpp>
#include <smooch/models.hpp>

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <string_view>

namespace smooch {

/// The result of a try_ operation: a value, or an error with diagnostics.
template <class T>
struct outcome {
    error_code ec;
    smooch::diagnostics diag;
    std::optional<T> value;   ///< Set exactly when !ec.
    explicit operator bool() const noexcept { return !ec; }
    /// The value, or throws smooch::error.
    T& get() { throw_on_error(ec, diag); return *value; }
};

/// The value of operations whose success has no body (delete_message, delete_messages, reset_unread_count).
struct done {
    unsigned status = 0;  ///< The 2xx status the server answered with.
};

/// Which way history_walker walks.
enum class walk_direction { oldest_first, newest_first };

class conversation_api {
public:
    /// Shares the client's internals: the api may outlive `c`, and calls in flight keep them alive.
    explicit conversation_api(client& c);

    boost::asio::awaitable<activity_response> conversation_activity(std::string_view app_id, std::string_view user_id,
                                                                    const smooch::conversation_activity& body,
                                                                    call_options opts = {});
    boost::asio::awaitable<done> delete_message(std::string_view app_id, std::string_view user_id,
                                                std::string_view message_id, call_options opts = {});
    boost::asio::awaitable<done> delete_messages(std::string_view app_id, std::string_view user_id,
                                                 call_options opts = {});
    /// At most 100 messages, ascending by `received`. `before`/`after` are exclusive and mutually exclusive.
    boost::asio::awaitable<get_messages_response> get_messages(std::string_view app_id, std::string_view user_id,
                                                               get_messages_query query = {},
                                                               call_options opts = {});
    /// Not idempotent: by default never retried once the request may have reached the server.
    boost::asio::awaitable<message_response> post_message(std::string_view app_id, std::string_view user_id,
                                                          const message_post& body, call_options opts = {});
    boost::asio::awaitable<done> reset_unread_count(std::string_view app_id, std::string_view user_id,
                                                    call_options opts = {});

    // Non-throwing forms.
    boost::asio::awaitable<outcome<activity_response>> try_conversation_activity(
        std::string_view app_id, std::string_view user_id, const smooch::conversation_activity& body,
        call_options opts = {});
    boost::asio::awaitable<outcome<done>> try_delete_message(std::string_view app_id, std::string_view user_id,
                                                             std::string_view message_id, call_options opts = {});
    boost::asio::awaitable<outcome<done>> try_delete_messages(std::string_view app_id, std::string_view user_id,
                                                              call_options opts = {});
    boost::asio::awaitable<outcome<get_messages_response>> try_get_messages(std::string_view app_id,
                                                                            std::string_view user_id,
                                                                            get_messages_query query = {},
                                                                            call_options opts = {});
    boost::asio::awaitable<outcome<message_response>> try_post_message(std::string_view app_id,
                                                                       std::string_view user_id,
                                                                       const message_post& body,
                                                                       call_options opts = {});
    boost::asio::awaitable<outcome<done>> try_reset_unread_count(std::string_view app_id, std::string_view user_id,
                                                                 call_options opts = {});

    /// Walks a conversation's whole history, calling `on_message` once per message, oldest first or newest
    /// first. Never skips or repeats a message, even when several share one `received` value at a page
    /// boundary (the API's before/after bounds are exclusive, reference.md §7): the walker re-reads the
    /// boundary timestamp and de-duplicates by `_id`. Returns the number of messages visited.
    /// Throws smooch::error.
    boost::asio::awaitable<std::size_t> walk_history(std::string_view app_id, std::string_view user_id,
                                                     walk_direction direction,
                                                     std::function<void(const message&)> on_message,
                                                     call_options opts = {});

private:
    std::shared_ptr<detail::client_impl> impl_;
};

} // namespace smooch

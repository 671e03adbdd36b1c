// SPDX-License-Identifier: BSL-1.0
// Building each operation's request, and running a call through the pipeline into its typed result.

#include "api/call.hpp"

#include "detail/percent.hpp"
#include "models/json_internal.hpp"
#include "models/validate_internal.hpp"

namespace smooch::detail {
namespace {

bool check_id(call& c, const char* name, std::string_view v)
{
    if (!v.empty()) return true;
    c.ec = client_errc::invalid_request;
    c.diag.message = std::string(name) + ": must not be empty";
    return false;
}

call make(std::shared_ptr<client_impl> impl, const char* op, std::string_view app, std::string_view user, http_method m,
          std::string_view suffix, const call_options& opts)
{
    call c;
    c.impl = std::move(impl);
    c.diag.operation = op;
    c.app_id = app;
    c.opts = opts;
    c.request.method = m;
    if (check_id(c, "app_id", app) && check_id(c, "user_id", user)) {
        std::string& t = c.request.target;
        t.reserve(24 + 3 * (app.size() + user.size()) + suffix.size());  // one allocation, worst case
        t += "/v1.1/apps/";
        append_segment(t, app);
        t += "/appusers/";
        append_segment(t, user);
        t += suffix;
    }
    return c;
}

template <class Body>
void set_body(call& c, const Body& body)
{
    if (c.ec) return;
    if ((c.ec = validate_fields(body, c.diag))) return;
    c.request.body = serialize(body);
    if ((c.ec = validate_utf8(c.request.body, c.diag))) return;  // checked once, on what is sent
    c.request.json_body = true;
}

}  // namespace

call make_activity(std::shared_ptr<client_impl> impl, std::string_view app, std::string_view user,
                   const conversation_activity& body, const call_options& opts)
{
    auto c =
        make(std::move(impl), "conversation_activity", app, user, http_method::post, "/conversation/activity", opts);
    set_body(c, body);
    return c;
}

call make_delete_message(std::shared_ptr<client_impl> impl, std::string_view app, std::string_view user,
                         std::string_view message_id, const call_options& opts)
{
    auto c = make(std::move(impl), "delete_message", app, user, http_method::delete_,
                  "/messages/" + encode_segment(message_id), opts);
    if (!c.ec) check_id(c, "message_id", message_id);
    c.what.not_found_after_apply_is_done = true;
    return c;
}

call make_delete_messages(std::shared_ptr<client_impl> impl, std::string_view app, std::string_view user,
                          const call_options& opts)
{
    return make(std::move(impl), "delete_messages", app, user, http_method::delete_, "/messages", opts);
}

call make_get_messages(std::shared_ptr<client_impl> impl, std::string_view app, std::string_view user,
                       const get_messages_query& query, const call_options& opts)
{
    std::string suffix = "/messages";
    if (query.before) suffix += "?before=" + encode_segment(*query.before);
    else if (query.after) suffix += "?after=" + encode_segment(*query.after);
    auto c = make(std::move(impl), "get_messages", app, user, http_method::get, suffix, opts);
    if (!c.ec) c.ec = validate(query, c.diag);
    return c;
}

call make_post_message(std::shared_ptr<client_impl> impl, std::string_view app, std::string_view user,
                       const message_post& body, const call_options& opts)
{
    auto c = make(std::move(impl), "post_message", app, user, http_method::post, "/messages", opts);
    c.what.idempotent = false;
    set_body(c, body);
    return c;
}

call make_post_message(std::shared_ptr<client_impl> impl, std::string_view app, std::string_view user,
                       const prepared_message_post& body, const call_options& opts)
{
    auto c = make(std::move(impl), "post_message", app, user, http_method::post, "/messages", opts);
    c.what.idempotent = false;
    if (!c.ec) {
        c.request.body = body.json();  // validated when it was prepared
        c.request.json_body = true;
    }
    return c;
}

call make_reset_unread_count(std::shared_ptr<client_impl> impl, std::string_view app, std::string_view user,
                             const call_options& opts)
{
    return make(std::move(impl), "reset_unread_count", app, user, http_method::post, "/conversation/read", opts);
}

call make_walk(std::shared_ptr<client_impl> impl, std::string_view app, std::string_view user, walk_direction d,
               std::function<void(const message&)> on_message, const call_options& opts)
{
    call c;
    c.impl = std::move(impl);
    c.diag.operation = "walk_history";
    c.app_id = app;
    c.user_id = user;
    c.opts = opts;
    c.direction = d;
    c.on_message = std::move(on_message);
    if (check_id(c, "app_id", app) && check_id(c, "user_id", user) && !c.on_message) {
        c.ec = client_errc::invalid_request;
        c.diag.message = "on_message: must be set";
    }
    return c;
}

template <class T>
boost::asio::awaitable<error_code> perform(call& c, T& out, diagnostics& diag)
{
    diag = std::move(c.diag);
    if (c.ec) co_return c.ec;
    if constexpr (std::is_same_v<T, std::size_t>) {
        co_return co_await walk(c, out, diag);
    } else {
        attempt_result r;
        error_code ec;
        try {
            ec = co_await c.impl->calls->execute(c.app_id, c.request, c.what, c.opts, r, diag);
        } catch (const boost::system::system_error& e) {
            // Cancelled before execute() could start (Asio throws at the co_await): nothing was sent, and the call
            // was not counted. Once it runs, execute() turns cancellation into an error code itself.
            diag.stop_reason = stop_reason::cancelled;
            co_return e.code();
        }
        if (ec) co_return ec;
        if constexpr (std::is_same_v<T, done>) {
            out = done{r.status, r.status == 404};  // 404 succeeds only as "an earlier attempt deleted it"
            if (out.by_earlier_attempt)
                diag.message = "an earlier attempt was cut off after sending it; the retry found it gone (HTTP 404)";
        } else {
            diagnostics pd;
            if (parse_into(r.body, out, pd)) {
                // The server applied the request but we cannot read its answer: an error that must not be taken
                // for "not sent" (the caller would duplicate it). Counted as failed.
                out = T{};
                c.impl->stats.failed++;
                diag.message = "the server applied the request (HTTP " + std::to_string(r.status) +
                               ") but its answer could not be read: " + pd.message;
                diag.status = r.status;
                diag.applied = true;
                diag.stop_reason = stop_reason::success;  // the retry loop's job ended well; reading did not
                co_return client_errc::unreadable_response;
            }
        }
        c.impl->stats.succeeded++;
        co_return error_code{};
    }
}

template boost::asio::awaitable<error_code> perform(call&, activity_response&, diagnostics&);
template boost::asio::awaitable<error_code> perform(call&, done&, diagnostics&);
template boost::asio::awaitable<error_code> perform(call&, get_messages_response&, diagnostics&);
template boost::asio::awaitable<error_code> perform(call&, message_response&, diagnostics&);
template boost::asio::awaitable<error_code> perform(call&, std::size_t&, diagnostics&);

}  // namespace smooch::detail

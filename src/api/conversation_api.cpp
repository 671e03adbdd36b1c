// The six typed operations: each builds its request (path, query, validated body), runs it through the
// pipeline and reads the typed result.

#include <smooch/conversation_api.hpp>

#include "client/client_impl.hpp"
#include "detail/percent.hpp"
#include "models/json_internal.hpp"
#include "models/validate_internal.hpp"

#include <boost/asio/use_awaitable.hpp>

namespace smooch {
namespace {

namespace asio = boost::asio;
using detail::http_method;

/// Everything a call needs, owned: public functions build it eagerly, so string_view arguments need not
/// outlive the returned awaitable.
struct prepared {
    const char* operation;
    std::string app_id;
    detail::outgoing_request request;
    bool idempotent = true;
    call_options opts;
    error_code ec;  // set when the request failed validation
    diagnostics diag;
};

bool check_id(prepared& p, const char* name, std::string_view v)
{
    if (!v.empty()) return true;
    p.ec = client_errc::invalid_request;
    p.diag.message = std::string(name) + ": must not be empty";
    return false;
}

prepared prepare(const char* op, std::string_view app, std::string_view user, http_method m, std::string_view suffix,
                 call_options opts)
{
    prepared p;
    p.operation = op;
    p.diag.operation = op;
    p.app_id = app;
    p.opts = std::move(opts);
    p.request.method = m;
    if (check_id(p, "app_id", app) && check_id(p, "user_id", user)) {
        std::string& t = p.request.target;
        t.reserve(24 + 3 * (app.size() + user.size()) + suffix.size());  // one allocation, worst case
        t += "/v1.1/apps/";
        detail::append_segment(t, app);
        t += "/appusers/";
        detail::append_segment(t, user);
        t += suffix;
    }
    return p;
}

template <class Body>
void set_body(prepared& p, const Body& body)
{
    if (p.ec) return;
    if ((p.ec = detail::validate_fields(body, p.diag))) return;
    p.request.body = serialize(body);
    if ((p.ec = detail::validate_utf8(p.request.body, p.diag))) return;  // checked once, on what is sent
    p.request.json_body = true;
}

template <class T>
asio::awaitable<outcome<T>> run(std::shared_ptr<detail::client_impl> impl, prepared p)
{
    outcome<T> o;
    o.diag = std::move(p.diag);
    if (p.ec) {
        o.ec = p.ec;
        co_return o;
    }
    detail::attempt_result r;
    try {
        o.ec = co_await impl->calls->execute(p.app_id, p.request, p.idempotent, p.opts, r, o.diag);
    } catch (const boost::system::system_error& e) {
        // Cancelled before execute() could start (Asio throws at the co_await): nothing was sent. Once it runs,
        // execute() turns cancellation into an error code itself and sets diag.outcome_unknown when an attempt
        // may have been applied (`r` cannot tell: it is not assigned when the transport throws).
        o.ec = e.code();
        o.diag.stop_reason = stop_reason::cancelled;
    }
    if (o.ec) co_return o;
    if constexpr (std::is_same_v<T, done>) {
        o.value = done{r.status};
    } else {
        diagnostics pd;
        if (const error_code ec = detail::parse_into(r.body, o.value.emplace(), pd)) {
            // the exchange succeeded but the call did not: counted as failed
            o.value.reset();
            impl->stats.failed++;
            o.ec = ec;
            o.diag.message = "response body: " + pd.message;
            o.diag.status = r.status;
            o.diag.stop_reason = stop_reason::permanent_error;
            co_return o;
        }
    }
    impl->stats.succeeded++;
    co_return o;
}

template <class T>
asio::awaitable<T> or_throw(asio::awaitable<outcome<T>> a)
{
    outcome<T> o = co_await std::move(a);
    throw_on_error(o.ec, o.diag);
    co_return std::move(*o.value);
}

} // namespace

conversation_api::conversation_api(client& c) : impl_(detail::access::impl(c)) {}

asio::awaitable<outcome<activity_response>> conversation_api::try_conversation_activity(
    std::string_view app_id, std::string_view user_id, const smooch::conversation_activity& body, call_options opts)
{
    auto p = prepare("conversation_activity", app_id, user_id, http_method::post, "/conversation/activity",
                     std::move(opts));
    set_body(p, body);
    return run<activity_response>(impl_, std::move(p));
}

asio::awaitable<outcome<done>> conversation_api::try_delete_message(std::string_view app_id, std::string_view user_id,
                                                                    std::string_view message_id, call_options opts)
{
    auto p = prepare("delete_message", app_id, user_id, http_method::delete_,
                     "/messages/" + detail::encode_segment(message_id), std::move(opts));
    if (!p.ec) check_id(p, "message_id", message_id);
    return run<done>(impl_, std::move(p));
}

asio::awaitable<outcome<done>> conversation_api::try_delete_messages(std::string_view app_id,
                                                                     std::string_view user_id, call_options opts)
{
    return run<done>(impl_, prepare("delete_messages", app_id, user_id, http_method::delete_, "/messages",
                                    std::move(opts)));
}

asio::awaitable<outcome<get_messages_response>> conversation_api::try_get_messages(std::string_view app_id,
                                                                                  std::string_view user_id,
                                                                                  get_messages_query query,
                                                                                  call_options opts)
{
    std::string suffix = "/messages";
    if (query.before) suffix += "?before=" + detail::encode_segment(*query.before);
    else if (query.after) suffix += "?after=" + detail::encode_segment(*query.after);
    auto p = prepare("get_messages", app_id, user_id, http_method::get, suffix, std::move(opts));
    if (!p.ec) p.ec = validate(query, p.diag);
    return run<get_messages_response>(impl_, std::move(p));
}

asio::awaitable<outcome<message_response>> conversation_api::try_post_message(std::string_view app_id,
                                                                              std::string_view user_id,
                                                                              const message_post& body,
                                                                              call_options opts)
{
    auto p = prepare("post_message", app_id, user_id, http_method::post, "/messages", std::move(opts));
    p.idempotent = false;
    set_body(p, body);
    return run<message_response>(impl_, std::move(p));
}

asio::awaitable<outcome<done>> conversation_api::try_reset_unread_count(std::string_view app_id,
                                                                        std::string_view user_id, call_options opts)
{
    auto p = prepare("reset_unread_count", app_id, user_id, http_method::post, "/conversation/read", std::move(opts));
    return run<done>(impl_, std::move(p));
}

asio::awaitable<activity_response> conversation_api::conversation_activity(std::string_view app_id,
                                                                           std::string_view user_id,
                                                                           const smooch::conversation_activity& body,
                                                                           call_options opts)
{
    return or_throw(try_conversation_activity(app_id, user_id, body, std::move(opts)));
}
asio::awaitable<done> conversation_api::delete_message(std::string_view app_id, std::string_view user_id,
                                                       std::string_view message_id, call_options opts)
{
    return or_throw(try_delete_message(app_id, user_id, message_id, std::move(opts)));
}
asio::awaitable<done> conversation_api::delete_messages(std::string_view app_id, std::string_view user_id,
                                                        call_options opts)
{
    return or_throw(try_delete_messages(app_id, user_id, std::move(opts)));
}
asio::awaitable<get_messages_response> conversation_api::get_messages(std::string_view app_id,
                                                                      std::string_view user_id,
                                                                      get_messages_query query, call_options opts)
{
    return or_throw(try_get_messages(app_id, user_id, std::move(query), std::move(opts)));
}
asio::awaitable<message_response> conversation_api::post_message(std::string_view app_id, std::string_view user_id,
                                                                 const message_post& body, call_options opts)
{
    return or_throw(try_post_message(app_id, user_id, body, std::move(opts)));
}
asio::awaitable<done> conversation_api::reset_unread_count(std::string_view app_id, std::string_view user_id,
                                                           call_options opts)
{
    return or_throw(try_reset_unread_count(app_id, user_id, std::move(opts)));
}

} // namespace smooch

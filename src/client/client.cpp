// The client object, credentials, base URL handling and the request pipeline (gate, retries, deadline).

#include "client_impl.hpp"

#include "detail/crypto.hpp"
#include <smooch/json.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

namespace smooch::detail {

namespace asio = boost::asio;

// ---------------------------------------------------------------------------------------------- base URL

origin parse_base_url(const std::string& url, diagnostics& diag, error_code& ec)
{
    origin o;
    auto fail = [&](std::string why) {
        ec = client_errc::invalid_url;
        diag.message = "base_url: " + why;
        return o;
    };
    auto u = boost::urls::parse_absolute_uri(url);
    if (!u) return fail("not an absolute URL");
    if (u->has_userinfo()) return fail("must not contain credentials; use client_params::credentials");
    if (u->has_query() || u->has_fragment()) return fail("must not have a query or fragment");
    const auto scheme = u->scheme();
    if (scheme == "https")
        o.tls = true;
    else if (scheme == "http")
        o.tls = false;
    else
        return fail("scheme must be https (or http for a loopback host)");
    o.host = u->encoded_host().decode();
    if (u->host_type() == boost::urls::host_type::ipv6) o.host = u->host_ipv6_address().to_string();
    if (o.host.empty()) return fail("missing host");
    o.port = u->has_port() ? std::string(u->port()) : (o.tls ? "443" : "80");
    if (o.port.empty() || o.port.size() > 5 || std::stoul(o.port) == 0 || std::stoul(o.port) > 65535)
        return fail("invalid port");
    if (!o.tls) {
        error_code aec;
        auto addr = boost::asio::ip::make_address(o.host, aec);
        bool loopback = (!aec && addr.is_loopback()) || o.host == "localhost";
        if (!loopback) return fail("http:// is only allowed for loopback hosts; use https");
    }
    o.host_header = std::string(u->encoded_host_and_port());
    std::string path(u->encoded_path());
    while (!path.empty() && path.back() == '/') path.pop_back();
    o.path_prefix = path;
    return o;
}

// ----------------------------------------------------------------------------------------------- credentials

std::string hs256_signature(std::string_view signing_input, std::string_view secret)
{
    auto mac = hmac_sha256(secret, signing_input);
    return base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

std::string sign_jwt(const jwt_credentials& c, std::chrono::system_clock::time_point now)
{
    boost::json::object header{{"alg", "HS256"}, {"typ", "JWT"}, {"kid", c.key_id}};
    boost::json::object payload;
    static constexpr const char* scopes[] = {"app", "account", "appUser"};
    payload["scope"] = scopes[static_cast<int>(c.scope)];
    if (c.scope == jwt_scope::app_user) payload["userId"] = c.user_id;
    const auto iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    payload["iat"] = iat;
    if (c.lifetime) payload["exp"] = iat + c.lifetime->count();
    std::string input = base64url_encode(boost::json::serialize(header)) + '.' +
                        base64url_encode(boost::json::serialize(payload));
    std::string sig = hs256_signature(input, c.secret);
    return input + '.' + sig;
}

authorizer::authorizer(credentials c) : creds_(std::move(c)) {}

void authorizer::check() const
{
    auto bad = [](const char* why) {
        diagnostics d;
        d.message = why;
        throw error(client_errc::invalid_credentials, d);
    };
    if (auto* b = std::get_if<basic_auth>(&creds_)) {
        if (b->key_id.empty() || b->secret.empty()) bad("basic_auth needs a key_id and a secret");
        if (b->key_id.find(':') != std::string::npos) bad("basic_auth key_id must not contain ':'");
    } else if (auto* t = std::get_if<bearer_token>(&creds_)) {
        if (t->token.empty()) bad("bearer_token is empty");
        for (char ch : t->token)
            if (static_cast<unsigned char>(ch) < 0x21 || static_cast<unsigned char>(ch) > 0x7e)
                bad("bearer_token contains a character not allowed in a header");
    } else if (auto* j = std::get_if<jwt_credentials>(&creds_)) {
        if (j->key_id.empty() || j->secret.empty()) bad("jwt_credentials needs a key_id and a secret");
        if (j->scope == jwt_scope::app_user && j->user_id.empty()) bad("jwt_credentials: app_user scope needs a user_id");
        if (j->lifetime && j->lifetime->count() <= 0) bad("jwt_credentials: lifetime must be positive");
    }
}

std::string authorizer::header(std::chrono::system_clock::time_point now)
{
    if (auto* b = std::get_if<basic_auth>(&creds_)) {
        std::lock_guard lk(mu_);
        if (cached_.empty()) cached_ = "Basic " + base64_encode(b->key_id + ':' + b->secret);
        return cached_;
    }
    if (auto* t = std::get_if<bearer_token>(&creds_)) return "Bearer " + t->token;
    if (auto* j = std::get_if<jwt_credentials>(&creds_)) {
        std::lock_guard lk(mu_);
        if (cached_.empty() || (j->lifetime && now >= refresh_at_)) {
            cached_ = "Bearer " + sign_jwt(*j, now);
            // Re-sign once nine tenths of the lifetime have passed, well before `exp`.
            if (j->lifetime) refresh_at_ = now + *j->lifetime * 9 / 10;
        }
        return cached_;
    }
    return {};
}

// ------------------------------------------------------------------------------------------------ counters

smooch::counters atomic_counters::snapshot() const
{
    smooch::counters c;
    c.requests = requests;
    c.attempts = attempts;
    c.succeeded = succeeded;
    c.failed = failed;
    c.connections_opened = connections_opened;
    c.connections_reused = connections_reused;
    c.connections_discarded = connections_discarded;
    c.tls_resumed = tls_resumed;
    c.pool_waits = pool_waits;
    c.stale_replays = stale_replays;
    c.retries_connect = retries_connect;
    c.retries_throttled = retries_throttled;
    c.retries_server_error = retries_server_error;
    c.retries_transport = retries_transport;
    c.responses_429 = responses_429;
    c.gate_waits = gate_waits;
    c.gate_wait_ms = gate_wait_ms;
    return c;
}

// ------------------------------------------------------------------------------------------------ pipeline

client_impl::client_impl(asio::any_io_executor ex, client_params p)
    : executor(std::move(ex)), params(std::move(p)), auth(params.credentials),
      budget(params.retry.budget_ratio, params.retry.budget_floor, params.retry.budget_window),
      rng(std::random_device{}())
{
    diagnostics diag;
    error_code ec;
    base = parse_base_url(params.base_url, diag, ec);
    if (ec) throw error(ec, diag);
    auth.check();
    net = std::make_unique<transport>(executor, params, base, stats);
}

client_impl::~client_impl() = default;

namespace {

void fill_api_error(const attempt_result& r, diagnostics& diag)
{
    diag.status = r.status;
    if (r.body.empty()) return;
    diagnostics ignored;
    auto body = parse<api_error_body>(r.body, ignored);
    if (body) {
        diag.api_code = body->code.value_or("");
        diag.api_description = body->description.value_or("");
    }
}

attempt_outcome to_outcome(const attempt_result& r, std::optional<std::chrono::milliseconds> gate_wait)
{
    attempt_outcome o;
    o.ec = r.ec;
    o.status = r.status;
    o.connected = r.connected;
    o.request_sent = r.request_sent;
    o.stale = r.stale;
    o.verify_failed = r.verify_failed;
    o.has_retry_after = r.has_retry_after;
    o.retry_after = r.retry_after;
    o.gate_wait = gate_wait;
    o.message = r.message;
    return o;
}

// The gate of `app` (created, and idle gates swept, as needed). Call with gate_mu held.
rate_gate& gate_of(client_impl& c, std::string_view app, clock::time_point now)
{
    return gate_for(c.gates, app, now, c.params.rate_limit);
}

} // namespace

asio::awaitable<error_code> client_impl::execute(std::string_view app_id, const http_request& req, bool idempotent,
                                                 const call_options& opts, attempt_result& out, diagnostics& diag)
{
    auto self = shared_from_this();
    const retry_params& rp = opts.retry ? *opts.retry : params.retry;
    const auto total = opts.total_timeout.value_or(params.timeouts.total);
    const auto start = clock::now();
    const auto deadline = total.count() > 0 ? start + total : clock::time_point::max();
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex);

    stats.requests++;
    {
        std::lock_guard lk(gate_mu);
        budget.on_request(start);
    }

    // Lets the pipeline act inside an attempt: checks the gate with a connection leased (and notes that
    // from then on request bytes may leave), and closes or opens the gate on the response.
    struct hooks final : attempt_hooks {
        client_impl& c;
        std::string_view app;
        const retry_params& rp;
        bool passed_gate = false;    // the transport went on to send: bytes may reach the server
        bool streak_at_send = false; // the gate had a 429 streak then (a 2xx may end it)
        clock::time_point sent_at{};
        std::optional<std::chrono::milliseconds> gate_wait;  // a 429 closed the gate for this long
        hooks(client_impl& ci, std::string_view a, const retry_params& r) : c(ci), app(a), rp(r) {}
        std::optional<clock::time_point> gate_closed_until() override
        {
            std::lock_guard lk(c.gate_mu);
            const auto now = clock::now();
            auto& gate = gate_of(c, app, now);
            if (gate.closed_until() > now) return gate.closed_until();
            passed_gate = true;
            streak_at_send = gate.streak() > 0;
            sent_at = now;
            return std::nullopt;
        }
        void on_response(const attempt_result& r) override
        {
            if (r.status == 429) {
                std::lock_guard lk(c.gate_mu);
                // A 429 pauses every request to this app, not only this one.
                gate_wait = gate_of(c, app, clock::now()).on_throttled(clock::now(), sent_at, r.retry_after, rp, c.rng);
            } else if (r.status >= 200 && r.status < 300 && streak_at_send) {
                // Without a streak when this was sent, any streak now began after it: nothing to end.
                std::lock_guard lk(c.gate_mu);
                gate_of(c, app, clock::now()).on_success(sent_at);
            }
        }
    };

    retry_state state(rp, idempotent, deadline);
    decision d;                      // how the call ends
    bool holding_admission = false;  // admitted (a client-side token taken) but nothing sent yet
    auto refund = [&] {
        std::lock_guard lk(gate_mu);
        gate_of(*this, app_id, clock::now()).refund();
        holding_admission = false;
    };
    try {
        for (;;) {
            // Per-app admission: rate gate closed by a 429 (and its ramp), or the client-side limit.
            std::optional<clock::time_point> admit;
            auto now = clock::now();
            {
                std::lock_guard lk(gate_mu);
                admit = gate_of(*this, app_id, now).admit(now, deadline, rng);
            }
            if (!admit) {
                d = state.on_gate_after_deadline();
                break;
            }
            holding_admission = true;
            if (*admit > now) {
                stats.gate_waits++;
                timer.expires_at(*admit);
                auto [wec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
                stats.gate_wait_ms += static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - now).count());
                if (wec) {
                    d = state.on_cancelled(wec);
                    break;
                }
            }

            hooks h(*this, app_id, rp);
            try {
                out = co_await net->run(req, auth, deadline, h);
            } catch (const boost::system::system_error& e) {
                // Cancellation delivered as an exception: the transport's own record of the attempt is gone
                // with its frame. Bytes may have left once it passed the gate with a leased connection.
                out = attempt_result{};
                out.ec = e.code() ? e.code() : error_code(asio::error::operation_aborted);
                out.connected = out.request_sent = h.passed_gate;
            }
            if (out.request_sent) holding_admission = false;
            else refund();  // nothing reached the server: the token goes back
            if (out.gated_until) continue;  // back to the gate; nothing was sent

            const attempt_outcome o = to_outcome(out, h.gate_wait);
            if (o.retry_after) diag.retry_after = o.retry_after;  // the server's value, not the capped wait
            if (out.status == 429) stats.responses_429++;
            const auto f = classify(o);
            diag.attempts.push_back(
                {out.ec ? out.ec : (f == failure_kind::none ? error_code{} : make_http_error(out.status)), out.status,
                 std::chrono::milliseconds(0)});
            diag.message = out.message;
            if (!out.ec && f != failure_kind::none) fill_api_error(out, diag);
            {
                std::lock_guard lk(gate_mu);
                d = state.on_attempt(o, clock::now(), budget, rng);
            }
            if (d.next == next_step::succeed) {
                diag.stop_reason = stop_reason::success;
                diag.status = out.status;
                co_return error_code{};
            }
            if (d.next == next_step::replay) {
                stats.stale_replays++;
                continue;
            }
            if (d.next == next_step::stop) break;
            // next_step::retry
            diag.attempts.back().delay_after = d.delay;
            switch (d.kind) {
            case failure_kind::connect_failed:
            case failure_kind::stale_connection: stats.retries_connect++; break;
            case failure_kind::throttled: stats.retries_throttled++; break;
            case failure_kind::server_error: stats.retries_server_error++; break;
            default: stats.retries_transport++; break;
            }
            if (d.at_gate) continue;  // a 429 closed the gate: the gate does the waiting
            timer.expires_after(d.delay);
            auto [wec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
            if (wec) {
                d = state.on_cancelled(wec);
                break;
            }
        }
    } catch (const boost::system::system_error& e) {
        // Asio throws instead of waiting when the caller had already cancelled before a gate or backoff wait.
        d = state.on_cancelled(e.code());
    }
    if (holding_admission) refund();
    stats.failed++;
    diag.stop_reason = d.reason;
    if (!d.message.empty()) diag.message = d.message;
    diag.outcome_unknown = state.outcome_unknown();
    co_return d.ec;
}

} // namespace smooch::detail

namespace smooch {

client::client(boost::asio::any_io_executor ex, client_params params)
    : impl_(std::make_shared<detail::client_impl>(std::move(ex), std::move(params)))
{
}

client::~client() = default;

boost::asio::any_io_executor client::get_executor() const noexcept { return impl_->executor; }
const client_params& client::params() const noexcept { return impl_->params; }
smooch::counters client::counters() const { return impl_->stats.snapshot(); }
std::size_t client::open_connections() const { return impl_->net->open_connections(); }
void client::shutdown() { impl_->net->shutdown(); }

} // namespace smooch

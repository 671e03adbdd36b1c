// SPDX-License-Identifier: BSL-1.0
// smooch::redis::rate_source: the shared GCRA budget in a Redis Function, leased in batches, with a local
// fallback share while Redis is unreachable (docs/scale-out.md).

#include <smooch/redis.hpp>

#include "redis/budget.hpp"
#include "redis/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

namespace smooch::redis {

namespace asio = boost::asio;
using namespace smooch::detail::redis;
namespace resp = smooch::detail::resp;

namespace {

class redis_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "smooch.redis"; }
    std::string message(int ev) const override
    {
        switch (static_cast<redis_errc>(ev)) {
        case redis_errc::bad_url: return "not a redis://host:port[/db] url";
        case redis_errc::protocol_error: return "Redis reply is not RESP";
        case redis_errc::reply_too_large: return "Redis reply exceeds the parser's bound";
        case redis_errc::server_error: return "Redis answered with an error";
        case redis_errc::timeout: return "Redis timed out";
        case redis_errc::connection_closed: return "Redis closed the connection";
        case redis_errc::unexpected_reply: return "Redis reply of an unexpected shape";
        case redis_errc::auth_failed: return "Redis refused the credentials (or needs some)";
        }
        return "unknown Redis error";
    }
};

// GCRA over the server's clock (TIME), in microseconds. The key holds the theoretical arrival time (TAT).
// A call asks for `want` tokens at once: they are granted when all of them conform within `reserve` from now
// (the reply says after how long they may be used), else none (the reply says when to ask again). A pause
// (after a 429 anywhere) pushes the TAT so that nothing conforms until it ends, for every process.
constexpr std::string_view library = R"lua(#!lua name=smooch_rate
local function acquire(keys, args)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local interval = tonumber(args[1])
  local tau = interval * tonumber(args[2])
  local want = tonumber(args[3])
  local reserve = tonumber(args[4])
  local pause = tonumber(args[5])
  local tat = tonumber(redis.call('GET', keys[1]))
  if tat == nil or tat < now then tat = now end
  if pause > 0 and now + pause + tau > tat then tat = now + pause + tau end
  local start = tat + want * interval - tau - now
  if start < 0 then start = 0 end
  local granted = 0
  local delay = start
  if start <= reserve then
    granted = want
    tat = tat + want * interval
  else
    delay = start - reserve
  end
  redis.call('SET', keys[1], string.format('%.0f', tat), 'PX', math.floor((tat - now + tau) / 1000) + 1000)
  return {granted, math.floor(delay)}
end
redis.register_function('smooch_acquire', acquire)
)lua";

}  // namespace

const boost::system::error_category& redis_category() noexcept
{
    static const redis_category_impl c;
    return c;
}

struct rate_source::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor ex, rate_source_params params, connection_params cp)
        : strand(asio::make_strand(ex)), p(std::move(params)), conn(strand, std::move(cp))
    {
        cfg.rate = p.rate;
        cfg.burst = p.burst;
        cfg.fallback_share = p.fallback_share;
        cfg.lease_ttl = p.lease_ttl;
        lease = std::clamp<unsigned>(p.lease, 1, static_cast<unsigned>(std::max(1.0, std::floor(p.burst))));
    }
    asio::strand<asio::any_io_executor> strand;
    rate_source_params p;
    budget_config cfg;
    unsigned lease = 1;
    connection conn;  // used on the strand only

    mutable std::mutex mu;
    std::map<std::string, app_budget, std::less<>> apps;
    bool shared = true;
    bool fetching = false;
    bool stopped = false;
    steady::time_point next_probe{};
    steady::time_point capped_until{};  // after Redis returns: shared tokens also need a fallback token
    std::vector<std::shared_ptr<asio::steady_timer>> waiters;
    rate_source_stats st;
    std::vector<std::uint32_t> rtts;  // ring of the last 4096 round trips, microseconds
    std::size_t rtt_next = 0;

    app_budget& budget_of(std::string_view app)
    {
        auto it = apps.find(app);
        if (it == apps.end()) it = apps.emplace(std::string(app), app_budget{}).first;
        return it->second;
    }

    void wake_all()  // under mu
    {
        for (auto& t : waiters) asio::post(t->get_executor(), [t] { t->cancel(); });
        waiters.clear();
    }

    void start_fetch(std::string_view app, app_budget& b)  // under mu
    {
        fetching = true;
        auto pause = b.pending_pause.value_or(std::chrono::milliseconds(0));
        b.pending_pause.reset();
        asio::co_spawn(strand, fetch(shared_from_this(), std::string(app), pause), asio::detached);
    }

    static asio::awaitable<void> fetch(std::shared_ptr<impl> self, std::string app, std::chrono::milliseconds pause)
    {
        const auto interval_us = static_cast<long long>(std::llround(1e6 / self->p.rate));
        std::vector<std::string> cmd{"FCALL",
                                     "smooch_acquire",
                                     "1",
                                     self->p.key_prefix + "app:" + app,
                                     std::to_string(std::max(1LL, interval_us)),
                                     std::to_string(static_cast<long long>(std::floor(self->p.burst))),
                                     std::to_string(self->lease),
                                     std::to_string(self->p.max_reserve.count() * 1000),
                                     std::to_string(pause.count() * 1000)};
        resp::value r;
        const auto t0 = steady::now();
        error_code ec = co_await self->conn.call(std::move(cmd), r);
        const auto t1 = steady::now();
        std::string why;
        if (!ec && r.kind == resp::value::type::error) {
            ec = redis_errc::server_error;
            why = "Redis answered " + r.str.substr(0, 200);
            self->conn.close();  // reconnecting loads the function again (a restarted Redis has none)
        } else if (!ec && (r.kind != resp::value::type::array || r.elements.size() != 2 ||
                           r.elements[0].kind != resp::value::type::integer ||
                           r.elements[1].kind != resp::value::type::integer || r.elements[0].integer < 0 ||
                           r.elements[1].integer < 0)) {
            ec = redis_errc::unexpected_reply;
            why = "Redis reply of an unexpected shape";
            self->conn.close();
        } else if (ec) {
            why = self->conn.last_error();
        }
        std::function<void(bool, std::string_view)> tell;
        bool now_shared;
        {
            std::lock_guard lk(self->mu);
            self->fetching = false;
            auto& b = self->budget_of(app);
            if (ec) {
                self->st.redis_failures++;
                self->next_probe = t1 + self->p.probe_interval;
                if (pause.count() > 0) b.pending_pause = pause;  // still to be carried
                if (self->shared) {
                    self->shared = false;
                    for (auto& [name, other] : self->apps) on_fallback(other, t1, self->cfg);
                    tell = self->p.on_mode_change;
                }
            } else {
                self->st.redis_calls++;
                const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count();
                if (self->rtts.size() < 4096) self->rtts.push_back(static_cast<std::uint32_t>(us));
                else self->rtts[self->rtt_next++ % 4096] = static_cast<std::uint32_t>(us);
                if (!self->shared) {
                    self->shared = true;
                    // The others may still be on their fallback share until their next probe.
                    self->capped_until = t1 + self->p.probe_interval + self->p.command_timeout;
                    tell = self->p.on_mode_change;
                    why = "Redis answers again: back on the shared budget";
                }
                on_lease(b, static_cast<unsigned>(r.elements[0].integer),
                         std::chrono::microseconds(r.elements[1].integer), t1, self->cfg);
            }
            now_shared = self->shared;
            self->wake_all();
        }
        if (tell) {
            if (!now_shared)
                why = std::string(ec == redis_errc::auth_failed ? "Redis refused the credentials ("
                                                                : "Redis unreachable (") +
                      why + "): falling back to " + std::to_string(self->p.rate * self->p.fallback_share) +
                      " requests/s";
            tell(now_shared, why);
        }
    }
};

std::shared_ptr<rate_source> rate_source::create(asio::any_io_executor ex, rate_source_params p, error_code& ec)
{
    ec = {};
    connection_params cp;
    if ((ec = parse_url(p.url, cp.where))) return nullptr;
    if (!(p.rate > 0) || !(p.burst >= 1) || !(p.fallback_share > 0 && p.fallback_share <= 1) ||
        p.command_timeout.count() <= 0 || p.connect_timeout.count() <= 0 || p.lease_ttl.count() <= 0) {
        ec = client_errc::invalid_configuration;
        return nullptr;
    }
    cp.connect_timeout = p.connect_timeout;
    cp.command_timeout = p.command_timeout;
    cp.setup.push_back({"FUNCTION", "LOAD", "REPLACE", std::string(library)});
    if (!p.password.empty()) {
        if (!p.username.empty()) cp.auth.push_back(p.username);
        cp.auth.push_back(p.password);
    } else if (!p.username.empty()) {
        ec = client_errc::invalid_configuration;  // a user without a password would silently not authenticate
        return nullptr;
    }
    return std::make_shared<rate_source>(std::make_shared<impl>(ex, std::move(p), std::move(cp)));
}

rate_source::rate_source(std::shared_ptr<impl> i) : impl_(std::move(i)) {}
rate_source::~rate_source() { stop(); }

void rate_source::stop()
{
    std::lock_guard lk(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->wake_all();
    asio::post(impl_->strand, [i = impl_] { i->conn.close(); });
}

asio::awaitable<error_code> rate_source::acquire(std::string_view app_id, time_point deadline)
{
    auto& s = *impl_;
    auto ex = co_await asio::this_coro::executor;
    try {
        for (;;) {
            auto timer = std::make_shared<asio::steady_timer>(ex);
            {
                std::lock_guard lk(s.mu);
                if (s.stopped) co_return asio::error::operation_aborted;
                auto& b = s.budget_of(app_id);
                const auto now = steady::now();
                const verdict v = decide(b, s.shared, now, s.cfg, now < s.capped_until);
                if (v.what == verdict::kind::go_shared) {
                    s.st.granted_shared++;
                    co_return error_code{};
                }
                if (v.what == verdict::kind::go_fallback) {
                    s.st.granted_fallback++;
                    co_return error_code{};
                }
                steady::time_point until;
                if (v.what == verdict::kind::fetch) {
                    if (!s.fetching) s.start_fetch(app_id, b);
                    until = now + s.p.connect_timeout + s.p.command_timeout;  // woken earlier when it answers
                } else {
                    until = v.until;
                    if (!s.shared && !s.fetching && now >= s.next_probe) s.start_fetch(app_id, b);  // probe
                }
                if (v.what == verdict::kind::wait && until > deadline) co_return client_errc::rate_limited;
                if (now >= deadline) co_return client_errc::rate_limited;
                timer->expires_at(std::min(until, deadline));
                s.waiters.push_back(timer);
            }
            co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
            auto cs = co_await asio::this_coro::cancellation_state;
            if (cs.cancelled() != asio::cancellation_type::none) co_return asio::error::operation_aborted;
        }
    } catch (const boost::system::system_error& e) {
        co_return e.code() ? e.code() : error_code(asio::error::operation_aborted);
    }
}

void rate_source::refund(std::string_view app_id)
{
    std::lock_guard lk(impl_->mu);
    detail::redis::refund(impl_->budget_of(app_id), impl_->shared, steady::now());
}

void rate_source::on_throttled(std::string_view app_id, std::optional<std::chrono::milliseconds> retry_after)
{
    std::lock_guard lk(impl_->mu);
    impl_->st.throttles++;
    detail::redis::on_throttled(impl_->budget_of(app_id), retry_after.value_or(impl_->p.throttle_pause), steady::now());
}

rate_source_stats rate_source::stats() const
{
    std::lock_guard lk(impl_->mu);
    rate_source_stats r = impl_->st;
    r.shared = impl_->shared;
    if (!impl_->rtts.empty()) {
        auto v = impl_->rtts;
        std::sort(v.begin(), v.end());
        r.round_trip_p50_us = v[v.size() / 2];
        r.round_trip_p99_us = v[std::min(v.size() - 1, v.size() * 99 / 100)];
    }
    return r;
}

}  // namespace smooch::redis

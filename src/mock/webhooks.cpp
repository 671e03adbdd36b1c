// SPDX-License-Identifier: BSL-1.0
// Webhooks inside the engine (webhooks.hpp): settings and their checks, payloads written by hand (the mock never
// uses the library's models: it is an oracle for the webhook parser too), the outbox, the retry decision.

#include "mock/webhooks.hpp"

#include "detail/json_string.hpp"
#include "mock/codec.hpp"
#include "mock/engine_state.hpp"

#include <boost/url/parse.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <stdexcept>

namespace smooch::mock {

using smooch::detail::append_json_string;

const char* to_string(webhook_outcome o) noexcept
{
    switch (o) {
    case webhook_outcome::delivered: return "delivered";
    case webhook_outcome::rejected: return "rejected";
    case webhook_outcome::status: return "status";
    case webhook_outcome::timeout: return "timeout";
    case webhook_outcome::error: return "error";
    case webhook_outcome::injected: return "injected";
    case webhook_outcome::queue_full: return "queue_full";
    }
    return "error";
}

webhook_url parse_webhook_url(std::string_view url)
{
    auto u = boost::urls::parse_absolute_uri(url);
    if (!u) throw std::invalid_argument("not an absolute URL (http://HOST[:PORT][/PATH] or https://...)");
    webhook_url out;
    if (u->scheme() == "https") out.https = true;
    else if (u->scheme() != "http")
        throw std::invalid_argument("the scheme must be http or https, got '" + std::string(u->scheme()) + "'");
    if (u->has_userinfo()) throw std::invalid_argument("user info (user:password@) is not allowed");
    if (u->has_fragment()) throw std::invalid_argument("a fragment (#...) is not allowed");
    if (u->host_type() == boost::urls::host_type::ipv6) out.host = u->host_address();
    else out.host = u->encoded_host().decode();
    if (out.host.empty()) throw std::invalid_argument("the host is empty");
    out.port = out.https ? 443 : 80;
    if (u->has_port()) {
        if (u->port_number() == 0) throw std::invalid_argument("the port must be 1..65535");
        out.port = u->port_number();
    }
    out.target = u->encoded_path().empty() ? "/" : std::string(u->encoded_path());
    if (u->has_query()) out.target += "?" + std::string(u->encoded_query());
    return out;
}

namespace {

bool known_trigger(std::string_view t)
{
    static constexpr std::string_view names[] = {"*",
                                                 "message",
                                                 "message:appUser",
                                                 "message:appMaker",
                                                 "conversation:start",
                                                 "conversation:read",
                                                 "conversation:referral",
                                                 "postback",
                                                 "merge:appUser",
                                                 "delivery:success",
                                                 "delivery:failure",
                                                 "payment:success",
                                                 "link:match",
                                                 "link:success",
                                                 "link:failure"};
    return std::find(std::begin(names), std::end(names), t) != std::end(names);
}

void check_ms(std::chrono::milliseconds t, const char* field)
{
    if (t.count() <= 0 || t.count() > detail::max_ms)
        throw std::invalid_argument(std::string(field) + ": must be 1..86400000 ms, got " + std::to_string(t.count()));
}

void check_probability(double p, const char* field)
{
    if (!(p >= 0 && p <= 1)) throw std::invalid_argument(std::string(field) + ": must be in [0, 1]");
}

/// Whether `pem` holds at least one certificate and nothing unreadable.
bool readable_certificates(const std::string& pem)
{
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    if (!bio) return false;
    int n = 0;
    while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
        X509_free(cert);
        ++n;
    }
    // The loop ends on "no start line" at the end of the text; any other error means a broken certificate.
    const unsigned long err = ERR_peek_last_error();
    const bool clean_end = err == 0 || ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
    ERR_clear_error();
    BIO_free(bio);
    return n > 0 && clean_end;
}

}  // namespace

void check_webhook_params(const webhook_params& w)
{
    try {
        parse_webhook_url(w.target);
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string("webhook.target: ") + e.what());
    }
    if (w.secret.empty()) throw std::invalid_argument("webhook.secret: must not be empty");
    for (char ch : w.secret)
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
            throw std::invalid_argument("webhook.secret: control characters cannot be sent in a header");
    if (!w.ca_pem.empty() && !readable_certificates(w.ca_pem))
        throw std::invalid_argument("webhook.ca_pem: no readable PEM certificate");
    if (w.triggers.empty()) throw std::invalid_argument("webhook.triggers: at least one trigger");
    for (auto& t : w.triggers)
        if (!known_trigger(t))
            throw std::invalid_argument("webhook.triggers: unknown trigger '" + t +
                                        "' (message, message:appUser, message:appMaker, conversation:read, *, ...)");
    check_ms(w.attempt_timeout, "webhook.attempt_timeout");
    check_ms(w.retry_base, "webhook.retry_base");
    if (w.max_retries > 100) throw std::invalid_argument("webhook.max_retries: must be 0..100");
    check_probability(w.duplicate_probability, "webhook.duplicate_probability");
    check_probability(w.fail_probability, "webhook.fail_probability");
    if (w.max_in_flight == 0) throw std::invalid_argument("webhook.max_in_flight: must be > 0");
    if (w.max_queue == 0) throw std::invalid_argument("webhook.max_queue: must be > 0");
}

namespace detail {
namespace {

bool subscribed(const webhook_params& w, std::string_view trigger)
{
    for (auto& t : w.triggers)
        if (t == trigger || t == "*" || (t == "message" && trigger.substr(0, 8) == "message:")) return true;
    return false;
}

/// What the record says of the delivery an attempt belongs to.
void describe(webhook_attempt_record& r, const webhook_delivery& d)
{
    r.delivery = d.id;
    r.trigger = d.trigger;
    r.app_id = d.app_id;
    r.user_id = d.user_id;
    r.message_ids = d.message_ids;
    r.duplicate = d.duplicate;
}

void record_attempt(engine_state& s, webhook_attempt_record r)
{
    if (s.rec.webhook_deliveries.size() < s.params.max_recorded_requests)
        s.rec.webhook_deliveries.push_back(std::move(r));
}

/// Puts `d` (and, by the duplicate fault, a copy) in the outbox, or records it as dropped when the outbox is full.
void enqueue(engine_state& s, webhook_delivery d)
{
    const webhook_params& w = *s.webhooks.params;
    const bool twice = w.duplicate_probability > 0 &&
                       std::uniform_real_distribution<double>(0.0, 1.0)(s.rng) < w.duplicate_probability;
    for (int copy = 0; copy < (twice ? 2 : 1); ++copy) {
        d.id = ++s.webhooks.next_id;
        d.duplicate = copy == 1;
        if (s.webhooks.outbox.size() >= w.max_queue) {
            webhook_attempt_record r;
            describe(r, d);
            r.start = std::chrono::steady_clock::now();
            r.outcome = webhook_outcome::queue_full;
            ++s.rec.webhooks_failed;
            record_attempt(s, std::move(r));
            continue;
        }
        ++s.rec.webhooks_queued;
        s.webhooks.outbox.push_back(d);
        s.webhooks.queued = s.webhooks.outbox.size();
    }
}

void append_head(std::string& o, std::string_view trigger, const context& ctx)
{
    o += "{\"trigger\":";
    append_json_string(o, trigger);
    o += ",\"app\":{\"_id\":";
    append_json_string(o, ctx.rt.app);
    o += "},\"version\":\"v1.1\"";
}

void append_app_user(std::string& o, const context& ctx, const conversation_state& c, bool started)
{
    o += ",\"appUser\":{\"_id\":\"";
    o += c.app_user_id;
    o += "\",\"userId\":";
    append_json_string(o, ctx.rt.user);
    if (started) o += ",\"conversationStarted\":true";
    o += "},\"conversation\":{\"_id\":\"";
    o += c.rec.conversation_id;
    o += "\"}";
}

webhook_delivery delivery_of(const context& ctx, std::string_view trigger)
{
    webhook_delivery d;
    d.trigger = std::string(trigger);
    d.app_id = ctx.rt.app;
    d.user_id = ctx.rt.user;
    return d;
}

}  // namespace

void webhook_for_message(context& ctx, const conversation_state& c, const message_record& m, std::string_view role)
{
    auto& s = *ctx.s;
    if (!s.webhooks.params) return;
    const std::string_view trigger = role == "appUser" ? "message:appUser" : "message:appMaker";
    if (!subscribed(*s.webhooks.params, trigger)) return;
    webhook_delivery d = delivery_of(ctx, trigger);
    d.message_ids.push_back(m.id);
    std::string& o = d.body;
    o.reserve(m.json.size() + 256);
    append_head(o, trigger, ctx);
    o += ",\"messages\":[";
    o += m.json;
    o += ']';
    append_app_user(o, ctx, c, true);
    o += '}';
    enqueue(s, std::move(d));
}

void webhook_for_read(context& ctx, const conversation_state& c)
{
    auto& s = *ctx.s;
    if (!s.webhooks.params || !subscribed(*s.webhooks.params, "conversation:read")) return;
    webhook_delivery d = delivery_of(ctx, "conversation:read");
    std::string& o = d.body;
    append_head(o, d.trigger, ctx);
    // The read came through the API (the Web Messenger calls reset_unread_count when its user reads).
    o += ",\"source\":{\"type\":\"api\"}";
    append_app_user(o, ctx, c, false);
    o += ",\"timestamp\":";
    append_timestamp(
        o, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
               .count());
    o += '}';
    enqueue(s, std::move(d));
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------- engine's side

void engine::set_webhook(std::optional<webhook_params> w)
{
    if (w) check_webhook_params(*w);
    std::lock_guard lock(s_->mu);
    s_->webhooks.params = w ? std::make_shared<const webhook_params>(std::move(*w)) : nullptr;
    if (!w) {
        s_->webhooks.outbox.clear();
        s_->webhooks.queued = 0;
    }
}

std::shared_ptr<const webhook_params> engine::webhook() const
{
    std::lock_guard lock(s_->mu);
    return s_->webhooks.params;
}

bool engine::has_webhooks() const noexcept { return s_->webhooks.queued.load(std::memory_order_relaxed) != 0; }

std::vector<webhook_delivery> engine::take_webhooks(std::size_t max)
{
    std::lock_guard lock(s_->mu);
    auto& box = s_->webhooks.outbox;
    std::vector<webhook_delivery> out;
    const std::size_t n = std::min(max, box.size());
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(std::move(box.front()));
        box.pop_front();
    }
    s_->webhooks.queued = box.size();
    return out;
}

bool engine::inject_webhook_failure(const webhook_params& w)
{
    std::lock_guard lock(s_->mu);
    const std::uint64_t n = ++s_->webhooks.attempts;
    if (n <= w.fail_first) return true;
    return w.fail_probability > 0 && std::uniform_real_distribution<double>(0.0, 1.0)(s_->rng) < w.fail_probability;
}

std::optional<std::chrono::milliseconds> engine::webhook_attempt_done(const webhook_params& w,
                                                                      const webhook_delivery& d,
                                                                      webhook_attempt_record r)
{
    detail::describe(r, d);
    const bool non_recoverable =
        r.status == 400 || r.status == 401 || r.status == 403 || r.status == 404 || r.status == 406;
    if (r.outcome == webhook_outcome::status && r.status >= 200 && r.status < 300)
        r.outcome = webhook_outcome::delivered;
    if (r.outcome == webhook_outcome::status && non_recoverable) r.outcome = webhook_outcome::rejected;
    r.retry_in.reset();
    if (r.outcome != webhook_outcome::delivered && r.outcome != webhook_outcome::rejected &&
        r.attempt <= w.max_retries) {
        // retry_base * 2^(attempt-1), capped at a day.
        const double factor = static_cast<double>(std::uint64_t{1} << std::min(r.attempt - 1, 40u));
        const double ms =
            std::min(static_cast<double>(w.retry_base.count()) * factor, static_cast<double>(detail::max_ms));
        r.retry_in = std::chrono::milliseconds(static_cast<std::int64_t>(ms));
    }
    std::lock_guard lock(s_->mu);
    if (r.outcome == webhook_outcome::delivered) ++s_->rec.webhooks_delivered;
    else if (!r.retry_in) ++s_->rec.webhooks_failed;
    auto next = r.retry_in;
    detail::record_attempt(*s_, std::move(r));
    return next;
}

}  // namespace smooch::mock

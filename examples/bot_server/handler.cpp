// SPDX-License-Identifier: BSL-1.0
// webhook_handler (handler.hpp). Nothing here waits: the answer goes out before any reply is sent, so Smooch
// never times out on us (its limit is 20 s) and never redelivers because we were slow.

#include "handler.hpp"

#include <smooch/json.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>

#include <chrono>
#include <vector>

namespace bot {

namespace http = boost::beast::http;

namespace {

response answer(http::status status, std::string text)
{
    response r{status, 11};
    r.set(http::field::content_type, "text/plain");
    r.body() = std::move(text) + "\n";
    return r;
}

}  // namespace

webhook_handler::webhook_handler(std::string secret, replier& replies, std::size_t max_replies_in_flight,
                                 smooch::webhook_dedup_params dedup)
    : secret_(std::move(secret)), replies_(replies), max_in_flight_(max_replies_in_flight), seen_(dedup)
{}

response webhook_handler::operator()(const request& req)
{
    auto reject = [&](http::status s, std::string why) {
        ++counters_.rejected;
        return answer(s, std::move(why));
    };
    if (req.method() != http::verb::post) {
        auto r = answer(http::status::method_not_allowed, "webhooks are POSTed");
        r.set(http::field::allow, "POST");
        return r;
    }
    // 401 is non-recoverable: a sender with the wrong secret is not retried forever.
    if (!smooch::check_webhook_key(req[smooch::webhook_key_header], secret_))
        return reject(http::status::unauthorized, "bad or missing X-API-Key");

    smooch::diagnostics diag;
    auto payload = smooch::parse<smooch::webhook_payload>(req.body(), diag);
    if (!payload) return reject(http::status::bad_request, diag.message);  // names the JSON path, never the secret
    ++counters_.webhooks;
    // Other triggers (our own appMaker messages among them) are acknowledged, or Smooch would retry them.
    if (payload->trigger != smooch::webhook_trigger::message_app_user) return answer(http::status::ok, "ignored");

    // Check the whole payload before acting on any part of it.
    const auto& p = *payload;
    if (!p.app || !p.app->id) return reject(http::status::bad_request, "app._id: required");
    if (!p.app_user || !(p.app_user->user_id || p.app_user->id))
        return reject(http::status::bad_request, "appUser: needs userId or _id");
    std::vector<const smooch::message*> mine;
    static const std::vector<smooch::message> none;
    const auto& msgs = p.messages ? *p.messages : none;
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        if (!msgs[i].id) return reject(http::status::bad_request, "messages[" + std::to_string(i) + "]._id: required");
        if (msgs[i].role && *msgs[i].role == smooch::role::app_user) mine.push_back(&msgs[i]);
    }
    if (stopping_ || replies_.in_flight() + mine.size() > max_in_flight_) {
        ++counters_.busy;
        return answer(http::status::service_unavailable, "busy, try again");  // recoverable: redelivered later
    }

    const std::string& user = p.app_user->user_id ? *p.app_user->user_id : *p.app_user->id;
    const auto now = std::chrono::steady_clock::now();
    for (const smooch::message* m : mine) {
        if (!seen_.first_time(*m->id, now)) {
            ++counters_.duplicates;
            continue;
        }
        replies_.reply(*p.app->id, user, m->text.value_or(""));
    }
    return answer(http::status::ok, "ok");
}

}  // namespace bot

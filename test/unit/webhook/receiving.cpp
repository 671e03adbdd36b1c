// SPDX-License-Identifier: BSL-1.0
// check_webhook_key() and webhook_deduplicator: the two decisions a receiver makes before it parses anything
// (is it Smooch?) and after (did I handle this already?). Time is passed in: no clock, no sleep.

#include <smooch/webhook.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <stdexcept>
#include <string>

using namespace smooch;
using namespace std::chrono_literals;
using tp = webhook_deduplicator::clock::time_point;

namespace {
const tp t0{std::chrono::hours(1)};
}  // namespace

BOOST_AUTO_TEST_SUITE(key_check)

BOOST_AUTO_TEST_CASE(only_the_exact_secret_matches)
{
    BOOST_TEST(check_webhook_key("s3cret", "s3cret"));
    BOOST_TEST(!check_webhook_key("s3cre", "s3cret"));
    BOOST_TEST(!check_webhook_key("s3crett", "s3cret"));
    BOOST_TEST(!check_webhook_key("S3cret", "s3cret"));
    BOOST_TEST(!check_webhook_key(" s3cret", "s3cret"));
    BOOST_TEST(!check_webhook_key("", "s3cret"));
    BOOST_TEST(!check_webhook_key(std::string("s3cret\0", 7), "s3cret"));
    const std::string long_secret(4096, 'k');
    BOOST_TEST(check_webhook_key(long_secret, long_secret));
    BOOST_TEST(!check_webhook_key(long_secret.substr(1), long_secret));
}

BOOST_AUTO_TEST_CASE(an_empty_secret_never_matches)
{
    BOOST_TEST(!check_webhook_key("", ""));
    BOOST_TEST(!check_webhook_key("anything", ""));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dedup)

BOOST_AUTO_TEST_CASE(a_repeat_within_the_window_is_a_duplicate)
{
    webhook_deduplicator d({.window = 15min, .max_entries = 10});
    BOOST_TEST(d.first_time("m1", t0));
    BOOST_TEST(!d.first_time("m1", t0));
    BOOST_TEST(!d.first_time("m1", t0 + 15min - 1ms));  // the window counts from the first sighting
    BOOST_TEST(d.first_time("m2", t0 + 1s));
    BOOST_TEST(d.seen("m2", t0 + 2s));
    BOOST_TEST(!d.seen("m3", t0 + 2s));
    BOOST_TEST(d.size() == 2u);
}

BOOST_AUTO_TEST_CASE(ids_expire_after_the_window)
{
    webhook_deduplicator d({.window = 10s, .max_entries = 10});
    BOOST_TEST(d.first_time("a", t0));
    BOOST_TEST(d.first_time("b", t0 + 5s));
    BOOST_TEST(!d.seen("a", t0 + 10s));  // exactly the window: forgotten
    BOOST_TEST(d.seen("b", t0 + 10s));
    BOOST_TEST(d.size() == 1u);
    BOOST_TEST(d.first_time("a", t0 + 10s));  // new again
    BOOST_TEST(!d.seen("b", t0 + 15s));
    BOOST_TEST(d.size() == 1u);
    BOOST_TEST(d.evicted_early() == 0u);
}

BOOST_AUTO_TEST_CASE(bounded_in_count_oldest_first)
{
    webhook_deduplicator d({.window = 1h, .max_entries = 3});
    for (int i = 0; i < 3; ++i) BOOST_TEST(d.first_time("m" + std::to_string(i), t0 + std::chrono::seconds(i)));
    BOOST_TEST(d.first_time("m3", t0 + 3s));  // evicts m0, the oldest
    BOOST_TEST(d.size() == 3u);
    BOOST_TEST(d.evicted_early() == 1u);
    BOOST_TEST(!d.seen("m0", t0 + 3s));
    BOOST_TEST(d.seen("m1", t0 + 3s));
    BOOST_TEST(d.seen("m3", t0 + 3s));
    // A repeat does not refresh or grow anything.
    BOOST_TEST(!d.first_time("m1", t0 + 4s));
    BOOST_TEST(d.size() == 3u);
    for (int i = 0; i < 10'000; ++i) d.first_time("x" + std::to_string(i), t0 + 5s);
    BOOST_TEST(d.size() == 3u);
}

BOOST_AUTO_TEST_CASE(time_going_backwards_is_clamped)
{
    webhook_deduplicator d({.window = 10s, .max_entries = 10});
    BOOST_TEST(d.first_time("a", t0 + 20s));
    BOOST_TEST(!d.first_time("a", t0));  // earlier than the latest time: taken as t0 + 20 s
    BOOST_TEST(!d.seen("a", t0 + 30s));
}

BOOST_AUTO_TEST_CASE(forget_lets_a_redelivery_through)
{
    webhook_deduplicator d;
    BOOST_TEST(d.first_time("m", t0));
    d.forget("m");
    d.forget("never-seen");
    BOOST_TEST(d.size() == 0u);
    BOOST_TEST(d.first_time("m", t0 + 1s));
    BOOST_TEST(!d.first_time("m", t0 + 2s));
}

BOOST_AUTO_TEST_CASE(odd_ids)
{
    webhook_deduplicator d;
    BOOST_TEST(d.first_time("", t0));
    BOOST_TEST(!d.first_time("", t0));
    BOOST_TEST(d.first_time(std::string("a\0b", 3), t0));
    BOOST_TEST(d.first_time(std::string("a\0c", 3), t0));
    BOOST_TEST(d.first_time(std::string(100'000, 'x'), t0));
    BOOST_TEST(!d.first_time(std::string(100'000, 'x'), t0));
}

BOOST_AUTO_TEST_CASE(bad_params)
{
    BOOST_CHECK_THROW(webhook_deduplicator({.window = 0ms, .max_entries = 1}), std::invalid_argument);
    BOOST_CHECK_THROW(webhook_deduplicator({.window = -1ms, .max_entries = 1}), std::invalid_argument);
    BOOST_CHECK_THROW(webhook_deduplicator({.window = 1s, .max_entries = 0}), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

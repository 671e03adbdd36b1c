// SPDX-License-Identifier: BSL-1.0
// Reading back: where the walk starts, how it pages, what it finds, and that a page boundary inside a group of
// messages sharing one `received` loses none of them.

#include <boost/test/unit_test.hpp>

#include "dispatch/reconcile.hpp"

using namespace smooch::dispatch::detail;
using namespace std::chrono_literals;

namespace {

seen_message msg(std::string id, double received, std::optional<std::string> key = {})
{
    return seen_message{std::move(id), received, std::move(key)};
}

}  // namespace

BOOST_AUTO_TEST_CASE(starts_clock_skew_before_the_oldest_intent)
{
    reconcile_walk w({{1, "k1", 1'700'000'010'500}, {2, "k2", 1'700'000'005'250}}, 60s);
    BOOST_TEST(w.cursor() == "1699999945.25");
    BOOST_TEST(!w.done());
}

BOOST_AUTO_TEST_CASE(finds_keys_on_one_page_and_stops_when_every_key_is_found)
{
    reconcile_walk w({{1, "k1", 1'000'000}, {2, "k2", 1'000'000}}, 0ms);
    w.on_page({msg("a", 1000.1), msg("b", 1000.2, "k2"), msg("c", 1000.3, "other"), msg("d", 1000.4, "k1")}, true);
    BOOST_TEST(w.done());  // has_next, but nothing is left to look for: no second read
    BOOST_TEST(w.pages() == 1u);
    BOOST_TEST(w.found().at(1) == "d");
    BOOST_TEST(w.found().at(2) == "b");
}

BOOST_AUTO_TEST_CASE(absent_after_the_last_page_means_not_stored)
{
    reconcile_walk w({{7, "k7", 1'000'000}}, 0ms);
    w.on_page({msg("a", 1000.1, "x")}, false);
    BOOST_TEST(w.done());
    BOOST_TEST(w.found().empty());
}

BOOST_AUTO_TEST_CASE(no_conversation_means_not_stored)
{
    reconcile_walk w({{7, "k7", 1'000'000}}, 0ms);
    w.on_no_conversation();
    BOOST_TEST(w.done());
    BOOST_TEST(w.found().empty());
}

BOOST_AUTO_TEST_CASE(pages_forward_from_the_last_page_and_rereads_a_shared_timestamp)
{
    reconcile_walk w({{1, "k1", 1'000'000}, {2, "k2", 1'000'000}}, 0ms);
    // Page 1 ends with two messages at 1000.5; the API's `after` is exclusive, so the walk restarts at the value
    // before them (1000.4) and skips the ids it has already seen.
    w.on_page({msg("a", 1000.3), msg("b", 1000.4), msg("c", 1000.5, "k1"), msg("d", 1000.5)}, true);
    BOOST_TEST(!w.done());
    BOOST_TEST(w.cursor() == "1000.4");
    BOOST_TEST(w.found().at(1) == "c");
    // Page 2: the boundary group again, then a message at the same timestamp that page 1 did not have.
    w.on_page({msg("c", 1000.5, "k1"), msg("d", 1000.5), msg("e", 1000.5, "k2")}, false);
    BOOST_TEST(w.done());
    BOOST_TEST(w.found().at(2) == "e");
    BOOST_TEST(w.pages() == 2u);
}

BOOST_AUTO_TEST_CASE(a_repeated_id_at_the_boundary_is_not_taken_for_another_line)
{
    reconcile_walk w({{1, "k1", 1'000'000}}, 0ms);
    w.on_page({msg("a", 1000.3), msg("b", 1000.5, "zz")}, true);
    w.on_page({msg("b", 1000.5, "k1")}, false);  // a server that changed b's metadata: b was already judged
    BOOST_TEST(w.found().empty());
}

BOOST_AUTO_TEST_CASE(an_empty_page_ends_the_walk)
{
    reconcile_walk w({{1, "k1", 1'000'000}}, 0ms);
    w.on_page({}, true);
    BOOST_TEST(w.done());
}

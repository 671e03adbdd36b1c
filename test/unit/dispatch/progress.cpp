// SPDX-License-Identifier: BSL-1.0
// The progress line fits the terminal: never more than width - 1 columns, the bar goes first when it is narrow.

#include <boost/test/unit_test.hpp>

#include "dispatch/progress_bar.hpp"

using namespace smooch::dispatch::detail;

BOOST_AUTO_TEST_CASE(fits_every_width_and_keeps_the_numbers)
{
    progress_view v{45123, 100000, 8123.4, 3, 1};
    for (unsigned w = 0; w <= 200; ++w) {
        const auto s = render_progress(v, w);
        BOOST_TEST(s.size() <= (w ? w - 1 : 0));
        BOOST_TEST(s.find('\n') == std::string::npos);
    }
    const auto s80 = render_progress(v, 80);
    BOOST_TEST(s80.front() == '[');
    BOOST_TEST(s80.find("45123/100000") != std::string::npos);
    BOOST_TEST(s80.find(" 45%") != std::string::npos);
    BOOST_TEST(s80.find("8123/s") != std::string::npos);
    BOOST_TEST(s80.find("ETA 0:07") != std::string::npos);
    BOOST_TEST(s80.find("failed 3 unknown 1") != std::string::npos);
    const auto s40 = render_progress(v, 40);  // too narrow for a bar: the numbers stay, cut at the end
    BOOST_TEST(s40.starts_with("45123/100000"));
}

BOOST_AUTO_TEST_CASE(the_bar_fills_with_progress)
{
    const auto half = render_progress({50, 100, 10, 0, 0}, 100);
    const auto open = half.find('['), close = half.find(']');
    const auto bar = half.substr(open + 1, close - open - 1);
    BOOST_TEST(std::count(bar.begin(), bar.end(), '#') * 2 == static_cast<long>(bar.size()));
    BOOST_TEST(render_progress({0, 100, 0, 0, 0}, 100).find("ETA --:--") != std::string::npos);
    BOOST_TEST(render_progress({5, 0, 1, 0, 0}, 100).find('[') == std::string::npos);  // unknown total: no bar
}

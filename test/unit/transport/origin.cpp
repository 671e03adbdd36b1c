// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE transport_units
#include <boost/test/unit_test.hpp>

#include "detail/percent.hpp"
#include "transport/origin.hpp"

using namespace smooch;
using namespace smooch::detail;

// --------------------------------------------------------------------------------------------- base URL

BOOST_AUTO_TEST_SUITE(urls)

BOOST_AUTO_TEST_CASE(base_url_rules)
{
    diagnostics d;
    error_code ec;
    auto o = parse_base_url("https://api.smooch.io", d, ec);
    BOOST_TEST(!ec);
    BOOST_TEST(o.host == "api.smooch.io");
    BOOST_TEST(o.port == "443");
    o = parse_base_url("http://127.0.0.1:8080/prefix/", d, ec);
    BOOST_TEST(!ec);
    BOOST_TEST(!o.tls);
    BOOST_TEST(o.path_prefix == "/prefix");
    o = parse_base_url("http://[::1]:9/", d, ec);
    BOOST_TEST(!ec);
    BOOST_TEST(o.host == "::1");
    for (const char* bad :
         {"http://api.smooch.io", "ftp://x", "https://", "not a url", "https://u:p@host", "https://host?x=1",
          "https://host:99999",
          // Found by fuzzing (test/fuzz/regressions/base_url): "PPPPPPPPPP33" was taken as the path, and a
          // percent-encoded control byte or NUL reached the host.
          "http://127.0.0.1:44PPPPPPPPPP33", "https://api.smooch.io%00.example.org", "https://api%0d%0a.smooch.io",
          "https://api%20smooch.io"}) {
        ec = {};
        parse_base_url(bad, d, ec);
        BOOST_TEST((ec == client_errc::invalid_url), bad);
    }
}

BOOST_AUTO_TEST_CASE(segments_are_fully_percent_encoded)
{
    BOOST_TEST(encode_segment("abc-_.~XYZ09") == "abc-_.~XYZ09");
    BOOST_TEST(encode_segment("a/b?c#d%e f") == "a%2Fb%3Fc%23d%25e%20f");
    BOOST_TEST(encode_segment("x\r\nHost: evil") == "x%0D%0AHost%3A%20evil");
    BOOST_TEST(encode_segment("\xc3\xa9") == "%C3%A9");
    BOOST_TEST(encode_segment("..") == "%2E%2E");  // never a dot-segment that could climb the path
    BOOST_TEST(encode_segment(".") == "%2E");
    BOOST_TEST(encode_segment("a..b") == "a..b");
}

BOOST_AUTO_TEST_SUITE_END()

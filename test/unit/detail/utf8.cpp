// SPDX-License-Identifier: BSL-1.0
// detail::invalid_utf8_at and detail::utf8_sequence_length: RFC 3629's well-formed and malformed forms, and
// agreement with a reference decoder over every short string of boundary bytes.

#include "detail/utf8.hpp"

#include "reference_utf8.hpp"

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <string>
#include <string_view>

using smooch::detail::invalid_utf8_at;
using smooch::detail::utf8_sequence_length;

namespace {

constexpr auto npos = std::string_view::npos;

// The first and last code point of each row of RFC 3629's table, and the edges of the surrogate gap.
struct form {
    const char* name;
    std::string_view bytes;
};
const form well_formed[] = {
    {"U+0000", std::string_view("\0", 1)},
    {"U+007F", "\x7f"},
    {"U+0080", "\xc2\x80"},
    {"U+07FF", "\xdf\xbf"},
    {"U+0800", "\xe0\xa0\x80"},
    {"U+D7FF", "\xed\x9f\xbf"},
    {"U+E000", "\xee\x80\x80"},
    {"U+FFFF", "\xef\xbf\xbf"},
    {"U+10000", "\xf0\x90\x80\x80"},
    {"U+10FFFF", "\xf4\x8f\xbf\xbf"},
};

// Each malformed form RFC 3629 names; `bad` is where the first byte that starts no sequence is.
struct malformed {
    const char* name;
    std::string_view bytes;
    std::size_t bad;
};
const malformed ill_formed[] = {
    {"lone continuation byte", "a\x80", 1},
    {"truncated 2-byte sequence", "\xc3", 0},
    {"truncated 3-byte sequence", "\xe2\x82", 0},
    {"overlong '/' (C0 AF)", "\xc0\xaf", 0},
    {"overlong U+0000 in 3 bytes", "\xe0\x80\x80", 0},
    {"overlong U+FFFF in 4 bytes", "\xf0\x8f\xbf\xbf", 0},
    {"surrogate U+D800", "\xed\xa0\x80", 0},
    {"surrogate U+DFFF", "\xed\xbf\xbf", 0},
    {"above U+10FFFF", "\xf4\x90\x80\x80", 0},
    {"F5, never a lead byte", "\xf5\x80\x80\x80", 0},
    {"FF", "\xff", 0},
    {"FE", "\xfe", 0},
    {"ASCII where a continuation byte must be", "\xc3(", 0},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(utf8_validator)

BOOST_AUTO_TEST_CASE(well_formed_sequences_are_accepted_whole)
{
    for (const form& f : well_formed) {
        BOOST_TEST_CONTEXT(f.name)
        {
            BOOST_TEST(invalid_utf8_at(f.bytes) == npos);
            BOOST_TEST(utf8_sequence_length(f.bytes, 0) == f.bytes.size());
            const std::string in_text = "ok " + std::string(f.bytes) + " end";
            BOOST_TEST(invalid_utf8_at(in_text) == npos);
            BOOST_TEST(utf8_sequence_length(in_text, 3) == f.bytes.size());
        }
    }
    BOOST_TEST(invalid_utf8_at("") == npos);
    BOOST_TEST(utf8_sequence_length("A", 0) == 1u);
}

BOOST_AUTO_TEST_CASE(malformed_sequences_are_found_where_they_start)
{
    for (const malformed& m : ill_formed) {
        BOOST_TEST_CONTEXT(m.name)
        {
            BOOST_TEST(invalid_utf8_at(m.bytes) == m.bad);
            BOOST_TEST(utf8_sequence_length(m.bytes, m.bad) == 0u);
            const std::string in_text = "ok " + std::string(m.bytes) + " end";
            BOOST_TEST(invalid_utf8_at(in_text) == 3 + m.bad);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_sequence_cut_by_the_end_of_the_text_is_malformed)
{
    // The bytes are there in memory, but not in the view: the check must not read past its end.
    const std::string_view euro = "\xe2\x82\xac";
    for (std::size_t n = 1; n < euro.size(); ++n) {
        BOOST_TEST(utf8_sequence_length(euro.substr(0, n), 0) == 0u);
        BOOST_TEST(invalid_utf8_at(euro.substr(0, n)) == 0u);
    }
    BOOST_TEST(utf8_sequence_length(euro, 0) == 3u);
}

BOOST_AUTO_TEST_CASE(agrees_with_a_reference_decoder)
{
    // Every 1- to 3-byte string over a set of boundary bytes: the verdict, and the length of the sequence at
    // each offset, must match a straightforward decoder written from RFC 3629's table.
    const unsigned char bytes[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1,
                                   0xc2, 0xdf, 0xe0, 0xed, 0xee, 0xef, 0xf0, 0xf3, 0xf4, 0xf5, 0xff};
    for (auto a : bytes)
        for (auto b : bytes)
            for (auto c : bytes) {
                for (std::size_t len = 1; len <= 3; ++len) {
                    std::string s;
                    s += static_cast<char>(a);
                    if (len > 1) s += static_cast<char>(b);
                    if (len > 2) s += static_cast<char>(c);
                    BOOST_TEST_CONTEXT("bytes " << std::hex << int(a) << ' ' << int(b) << ' ' << int(c) << " length "
                                                << len)
                    {
                        BOOST_TEST(invalid_utf8_at(s) == test_utf8::reference_invalid_at(s));
                        for (std::size_t i = 0; i < s.size(); ++i)
                            BOOST_TEST(utf8_sequence_length(s, i) == test_utf8::reference_length(s, i));
                    }
                }
            }
}

BOOST_AUTO_TEST_CASE(long_ascii_runs_are_checked_at_every_offset)
{
    // ASCII is skipped a word at a time: a bad byte at any position, on a word boundary or not, is found.
    for (std::size_t at = 0; at < 40; ++at) {
        std::string s(40, 'x');
        s[at] = '\x80';
        BOOST_TEST(invalid_utf8_at(s) == at);
        // And a bad byte after a valid multi-byte sequence in the same word.
        if (at + 3 <= s.size()) {
            s.replace(at, 3, "\xc3\xa9\xff");
            BOOST_TEST(invalid_utf8_at(s) == at + 2);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

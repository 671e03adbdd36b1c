// SPDX-License-Identifier: BSL-1.0
// detail::append_json_string: JSON's escapes, UTF-8 kept as it is, and each way of writing a byte that is not
// UTF-8; checked against Boost.JSON's parser and a byte-by-byte writer written from RFC 8259 §7.

#include "detail/json_string.hpp"
#include "detail/utf8.hpp"

#include "reference_utf8.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <random>
#include <string>
#include <string_view>

using smooch::detail::append_json_string;
using smooch::detail::bad_utf8;

namespace {

std::string json_string(std::string_view s, bad_utf8 bytes = bad_utf8::escape)
{
    std::string out = "prefix:";  // appends: what is there stays
    append_json_string(out, s, bytes);
    BOOST_TEST(out.rfind("prefix:", 0) == 0u);
    return out.substr(7);
}

const std::string not_json = "<not a JSON string>";

// The string a JSON reader gets from `text`, or not_json.
std::string read_back(const std::string& text)
{
    boost::json::error_code ec;
    const auto v = boost::json::parse(text, ec);
    if (ec || !v.is_string()) return not_json;
    return std::string(v.get_string().data(), v.get_string().size());
}

std::string u00(unsigned c)
{
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", c);
    return buf;
}

// The writer as RFC 8259 §7 reads, one byte at a time: the short escapes where JSON has them, \u00XX for the
// other control characters (and, with escape, for bytes outside well-formed UTF-8), all else as it is.
std::string reference(std::string_view s, bad_utf8 bytes)
{
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80 && bytes == bad_utf8::escape) {
            if (const std::size_t len = test_utf8::reference_length(s, i)) {
                out.append(s.substr(i, len));
                i += len;
            } else {
                out += u00(c);
                ++i;
            }
            continue;
        }
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) out += u00(c);
            else out += static_cast<char>(c);
        }
        ++i;
    }
    return out + '"';
}

}  // namespace

BOOST_AUTO_TEST_SUITE(json_string_writer)

BOOST_AUTO_TEST_CASE(quotes_and_backslashes_are_escaped)
{
    for (const bad_utf8 mode : {bad_utf8::escape, bad_utf8::copy}) {
        BOOST_TEST(json_string(R"(say "hi" \o/)", mode) == R"("say \"hi\" \\o/")");
        BOOST_TEST(json_string("", mode) == R"("")");
        BOOST_TEST(json_string("\"", mode) == R"("\"")");
        BOOST_TEST(json_string("\\\\", mode) == R"("\\\\")");
        BOOST_TEST(read_back(json_string(R"(a"b\c)", mode)) == R"(a"b\c)");
    }
}

BOOST_AUTO_TEST_CASE(every_control_character_is_escaped)
{
    const char* const short_forms[0x20] = {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                           "\\b",   "\\t",   "\\n",   nullptr, "\\f",   "\\r",   nullptr, nullptr};
    for (unsigned c = 0; c < 0x20; ++c) {
        BOOST_TEST_CONTEXT("control character " << c)
        {
            const std::string raw(1, static_cast<char>(c));
            const std::string expected = "\"" + (short_forms[c] ? std::string(short_forms[c]) : u00(c)) + "\"";
            BOOST_TEST(json_string(raw) == expected);
            BOOST_TEST(json_string(raw, bad_utf8::copy) == expected);
            BOOST_TEST(read_back(json_string("x" + raw + "y")) == "x" + raw + "y");
        }
    }
    // DEL and '/' need no escape, and get none (serialize()'s output is compared byte for byte by its tests).
    BOOST_TEST(json_string("\x7f/") == "\"\x7f/\"");
}

BOOST_AUTO_TEST_CASE(well_formed_utf8_is_kept_as_it_is)
{
    const std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xed\x9f\xbf \xee\x80\x80";
    for (const bad_utf8 mode : {bad_utf8::escape, bad_utf8::copy}) {
        BOOST_TEST(json_string(text, mode) == "\"" + text + "\"");
        BOOST_TEST(read_back(json_string(text, mode)) == text);
    }
}

BOOST_AUTO_TEST_CASE(bytes_outside_utf8_are_escaped_as_u00xx)
{
    struct bad {
        std::string_view in;
        std::string_view out;
    };
    const bad cases[] = {
        {"a\x80z", R"("a\u0080z")"},                            // lone continuation byte
        {"\xc3(", R"("\u00c3(")"},                              // lead byte without its continuation
        {"x\xe2\x82", R"("x\u00e2\u0082")"},                    // cut by the end of the text
        {"\xc0\xaf", R"("\u00c0\u00af")"},                      // overlong
        {"\xed\xa0\x80", R"("\u00ed\u00a0\u0080")"},            // surrogate
        {"\xf4\x90\x80\x80", R"("\u00f4\u0090\u0080\u0080")"},  // above U+10FFFF
        {"\xff\xfe", R"("\u00ff\u00fe")"},                      // never in UTF-8
        {"\xc3\xa9\xe9", "\"\xc3\xa9\\u00e9\""},                // é then Latin-1 é: only the bad byte
    };
    for (const bad& b : cases) {
        BOOST_TEST_CONTEXT("input " << b.in)
        {
            const std::string out = json_string(b.in);
            BOOST_TEST(out == b.out);
            // Valid JSON, always: a reader gets each bad byte back as the code point of the same number.
            std::string expected;
            for (std::size_t i = 0; i < b.in.size();) {
                const std::size_t len = test_utf8::reference_length(b.in, i);
                if (len) {
                    expected.append(b.in.substr(i, len));
                    i += len;
                } else {
                    const auto c = static_cast<unsigned char>(b.in[i++]);
                    expected += static_cast<char>(0xc0 | (c >> 6));
                    expected += static_cast<char>(0x80 | (c & 0x3f));
                }
            }
            BOOST_TEST(read_back(out) == expected);
        }
    }
}

BOOST_AUTO_TEST_CASE(copy_keeps_bytes_outside_utf8_where_they_are)
{
    // serialize()'s mode: the UTF-8 check of the whole body then finds the bad byte inside its field.
    const std::string out = json_string("ok \xc3( \"q\"", bad_utf8::copy);
    BOOST_TEST(out == "\"ok \xc3( \\\"q\\\"\"");
    BOOST_TEST(smooch::detail::invalid_utf8_at(out) == 4u);
    BOOST_TEST(read_back(out) == not_json);
}

BOOST_AUTO_TEST_CASE(agrees_with_a_byte_by_byte_writer)
{
    // Random text over the bytes that matter, at lengths around the 8-byte words the fast path reads, so
    // that each special byte falls at every offset of a word, alone or in a run.
    const unsigned char alphabet[] = {'a',  'Z',  ' ',  '/',  0x7f, '"',  '\\', 0x00, 0x01, '\n', '\t', 0x1f,
                                      0x80, 0xbf, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xed, 0xa0, 0xf0, 0x9f, 0xff};
    std::mt19937 rng(20240611);
    for (int round = 0; round < 20000; ++round) {
        std::string s;
        const std::size_t len = rng() % 41;
        const bool mostly_plain = round % 2 == 0;  // long plain runs with rare special bytes, or dense ones
        for (std::size_t i = 0; i < len; ++i)
            s += static_cast<char>(mostly_plain && rng() % 8 != 0 ? 'p' : alphabet[rng() % sizeof alphabet]);
        for (const bad_utf8 mode : {bad_utf8::escape, bad_utf8::copy}) {
            const std::string out = json_string(s, mode);
            BOOST_TEST(out == reference(s, mode), "input of " << s.size() << " bytes, round " << round);
            if (mode == bad_utf8::escape) BOOST_TEST(read_back(out) != not_json, out);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

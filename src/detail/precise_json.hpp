// SPDX-License-Identifier: BSL-1.0
#pragma once
// JSON text to a boost::json::value with correctly rounded numbers. Boost.JSON 1.81 converts decimal text to
// double with a fast algorithm that is sometimes one ulp off, which would break parse(serialize(x)) == x;
// this parser re-reads every non-integer number with std::from_chars. Shared by smooch::parse (the tree
// reader) and smooch-mock (request bodies), with the check that finds a non-finite number by its path.
// Defined in precise_json.cpp.

#include <boost/json/error.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace smooch::detail {

/// What to do with a number beyond the range of a double (1e999, a 400-digit integer); Boost's own parse
/// silently makes it an infinity, which has no JSON spelling.
enum class out_of_range_numbers {
    fail,           ///< Stop the parse with boost::json::error::exponent_overflow.
    keep_infinity,  ///< Store ±infinity and set precise_parse::out_of_range, so the caller can name the field.
};

struct precise_parse {
    boost::json::error_code ec;           ///< Syntax error (extra_data for text after the value).
    std::size_t consumed = 0;             ///< Bytes parsed: where a syntax error is.
    std::size_t out_of_range_length = 0;  ///< With fail: the offending number's length (it ends at `consumed`).
    bool out_of_range = false;            ///< With keep_infinity: some number became ±infinity.
};

/// Parses all of `text` (one JSON value, nothing after it) into `out`, which keeps its storage. Underflow
/// (1e-400) is zero of the right sign, as any JSON reader makes it.
precise_parse parse_precise(std::string_view text, boost::json::value& out, out_of_range_numbers policy);

/// The number step of parse_precise, for other handlers of boost::json::basic_parser (the models' streaming
/// reader): re-reads `number`, the full text of a non-integer number for which the parser gave `d`, into
/// `out`. An underflow becomes zero. A number beyond the double range fails (returns false: `number` is
/// cleared, `out_of_range_length` is its length, `ec` exponent_overflow), or with keep_infinity becomes
/// ±infinity and sets `*out_of_range`.
bool precise_double(std::string& number, double d, double& out, std::size_t& out_of_range_length,
                    boost::json::error_code& ec, out_of_range_numbers policy = out_of_range_numbers::fail,
                    bool* out_of_range = nullptr);

/// Appends to `path` the location of the first NaN or infinity inside `root` ("a.b[2].c", document order);
/// false, `path` unchanged, if there is none. Iterative: a value built in code may be nested very deep.
bool find_non_finite(const boost::json::object& root, std::string& path);

/// The one spelling of a JSON path ("a.b[2].c"), used by find_non_finite and the models' error messages:
/// a key, after a '.' unless it starts the path...
inline void append_path_key(std::string& path, std::string_view key)
{
    if (!path.empty()) path += '.';
    path.append(key);
}

/// ...and an array index, as "[i]".
inline void append_path_index(std::string& path, std::size_t i)
{
    path += '[';
    path += std::to_string(i);
    path += ']';
}

}  // namespace smooch::detail

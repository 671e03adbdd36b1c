// SPDX-License-Identifier: BSL-1.0
#pragma once
// RESP2/RESP3, sans-I/O: a command serializer and an incremental reply parser with hard bounds (size of one
// reply, nesting depth, elements), so a broken or hostile server costs a clear error, never unbounded memory.
// No sockets here: redis/connection.cpp feeds it bytes.

#include <smooch/redis.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smooch::detail::resp {

/// One reply. Aggregates (array, set, map, push) keep their elements in `elements` (a map as key, value, ...).
struct value {
    enum class type { simple, error, integer, bulk, null, array, map, set, push, boolean, dbl, big_number, verbatim };
    type kind = type::null;
    std::string str;           // simple, error, bulk, verbatim, big_number, dbl (its text)
    std::int64_t integer = 0;  // integer, boolean (0/1)
    std::vector<value> elements;
};

/// `*N\r\n$len\r\narg\r\n...`: a command as an array of bulk strings (binary-safe).
void serialize(std::vector<std::string_view> args, std::string& out);

struct limits {
    std::size_t max_reply_bytes = 1u << 20;  ///< One reply's encoded size. Default 1 MiB: rate replies are tiny.
    unsigned max_depth = 8;                  ///< Nesting of aggregates. Default 8.
    std::size_t max_elements = 4096;         ///< Elements of one aggregate. Default 4096.
};

/// Incremental parser: feed() bytes as they arrive, then next() yields complete replies in order.
class parser {
public:
    explicit parser(limits l = {}) : lim_(l) {}
    /// Appends received bytes. Fails (redis_errc::reply_too_large) once the buffered, incomplete reply exceeds
    /// the bound.
    error_code feed(std::string_view bytes);
    /// The next complete reply, if one is buffered. On a protocol violation sets `ec` (redis_errc::protocol_error)
    /// and returns nothing: the stream cannot be resynchronised, the connection must go.
    std::optional<value> next(error_code& ec);
    std::size_t buffered() const { return buf_.size() - pos_; }

private:
    enum class step { done, need_more, bad };
    step parse(std::size_t& at, value& out, unsigned depth);
    limits lim_;
    std::string buf_;
    std::size_t pos_ = 0;
};

}  // namespace smooch::detail::resp

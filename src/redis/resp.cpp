// SPDX-License-Identifier: BSL-1.0
// RESP2/RESP3 encoding and parsing (https://redis.io/docs/reference/protocol-spec/), bounded.

#include "redis/resp.hpp"

#include <charconv>

namespace smooch::detail::resp {

void serialize(std::vector<std::string_view> args, std::string& out)
{
    out += '*';
    out += std::to_string(args.size());
    out += "\r\n";
    for (auto a : args) {
        out += '$';
        out += std::to_string(a.size());
        out += "\r\n";
        out.append(a.data(), a.size());
        out += "\r\n";
    }
}

error_code parser::feed(std::string_view bytes)
{
    if (pos_ > 0 && pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
    } else if (pos_ > 4096 && pos_ * 2 > buf_.size()) {
        buf_.erase(0, pos_);  // compact: parsed replies are gone
        pos_ = 0;
    }
    if (buf_.size() - pos_ + bytes.size() > lim_.max_reply_bytes) return redis::redis_errc::reply_too_large;
    buf_.append(bytes.data(), bytes.size());
    return {};
}

std::optional<value> parser::next(error_code& ec)
{
    ec = {};
    std::size_t at = pos_;
    value v;
    switch (parse(at, v, 0)) {
    case step::done: pos_ = at; return v;
    case step::need_more: return std::nullopt;
    case step::bad: ec = redis::redis_errc::protocol_error; return std::nullopt;
    }
    return std::nullopt;
}

namespace {

bool to_int(std::string_view s, std::int64_t& out)
{
    if (s.empty()) return false;
    auto [p, e] = std::from_chars(s.data(), s.data() + s.size(), out);
    return e == std::errc{} && p == s.data() + s.size();
}

}  // namespace

parser::step parser::parse(std::size_t& at, value& out, unsigned depth)
{
    if (depth > lim_.max_depth) return step::bad;
    if (at >= buf_.size()) return step::need_more;
    const char tag = buf_[at];
    const auto eol = buf_.find("\r\n", at + 1);
    if (eol == std::string::npos) {
        // A line longer than any header could be is not RESP (the bulk payloads come after their line).
        return buf_.size() - at > 64 && tag != '+' && tag != '-' ? step::bad : step::need_more;
    }
    const std::string_view line(buf_.data() + at + 1, eol - at - 1);
    std::size_t after = eol + 2;
    using T = value::type;
    auto length_prefixed = [&](T kind) -> step {
        std::int64_t n;
        if (!to_int(line, n) || n < -1) return step::bad;
        if (n == -1) {  // RESP2 null bulk
            out.kind = T::null;
            at = after;
            return step::done;
        }
        if (static_cast<std::uint64_t>(n) > lim_.max_reply_bytes) return step::bad;
        const auto len = static_cast<std::size_t>(n);
        if (buf_.size() < after + len + 2) return step::need_more;
        if (buf_.compare(after + len, 2, "\r\n") != 0) return step::bad;
        out.kind = kind;
        out.str.assign(buf_, after, len);
        if (kind == T::verbatim) {
            if (out.str.size() < 4 || out.str[3] != ':') return step::bad;
            out.str.erase(0, 4);  // "txt:" / "mkd:"
        }
        at = after + len + 2;
        return step::done;
    };
    auto aggregate = [&](T kind, std::size_t per_entry) -> step {
        std::int64_t n;
        if (!to_int(line, n) || n < -1) return step::bad;
        if (n == -1) {  // RESP2 null array
            out.kind = T::null;
            at = after;
            return step::done;
        }
        if (static_cast<std::uint64_t>(n) > lim_.max_elements) return step::bad;
        out.kind = kind;
        out.elements.clear();
        out.elements.reserve(static_cast<std::size_t>(n) * per_entry);
        for (std::size_t i = 0; i < static_cast<std::size_t>(n) * per_entry; ++i) {
            value e;
            const step s = parse(after, e, depth + 1);
            if (s != step::done) return s;
            out.elements.push_back(std::move(e));
        }
        at = after;
        return step::done;
    };
    // A reply whose whole value is its line's text.
    auto text_line = [&](T kind) {
        out.kind = kind;
        out.str.assign(line);
        at = after;
        return step::done;
    };
    switch (tag) {
    case '+': return text_line(T::simple);
    case '-': return text_line(T::error);
    case ':':
        out.kind = T::integer;
        if (!to_int(line, out.integer)) return step::bad;
        at = after;
        return step::done;
    case '$': return length_prefixed(T::bulk);
    case '!': return length_prefixed(T::error);  // RESP3 blob error
    case '=': return length_prefixed(T::verbatim);
    case '*': return aggregate(T::array, 1);
    case '~': return aggregate(T::set, 1);
    case '>': return aggregate(T::push, 1);
    case '%': return aggregate(T::map, 2);
    case '_':
        if (!line.empty()) return step::bad;
        out.kind = T::null;
        at = after;
        return step::done;
    case '#':
        if (line != "t" && line != "f") return step::bad;
        out.kind = T::boolean;
        out.integer = line == "t";
        at = after;
        return step::done;
    case ',': return text_line(T::dbl);
    case '(': return text_line(T::big_number);
    default: return step::bad;
    }
}

}  // namespace smooch::detail::resp

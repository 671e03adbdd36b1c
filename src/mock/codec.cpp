// SPDX-License-Identifier: BSL-1.0
// Text codecs only smooch-mock needs (codec.hpp).

#include "mock/codec.hpp"

#include "detail/percent.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace smooch::mock::detail {

void append_timestamp(std::string& out, std::int64_t ms)
{
    append_int(out, ms / 1000);
    auto frac = static_cast<int>(ms % 1000);
    out += '.';
    out += static_cast<char>('0' + frac / 100);
    out += static_cast<char>('0' + frac / 10 % 10);
    out += static_cast<char>('0' + frac % 10);
}

std::optional<cursor> parse_cursor(std::string_view s)
{
    auto dot = s.find('.');
    std::string_view ip = s.substr(0, dot), fp = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
    if (ip.empty() || ip.size() > 12 || (dot != std::string_view::npos && fp.empty())) return std::nullopt;
    cursor c;
    for (char ch : ip) {
        if (ch < '0' || ch > '9') return std::nullopt;
        c.ms = c.ms * 10 + (ch - '0');
    }
    c.ms *= 1000;
    std::int64_t scale = 100;
    for (std::size_t i = 0; i < fp.size(); ++i) {
        char ch = fp[i];
        if (ch < '0' || ch > '9') return std::nullopt;
        if (i < 3) {
            c.ms += (ch - '0') * scale;
            scale /= 10;
        } else if (ch != '0') {
            c.extra = true;
        }
    }
    return c;
}

std::optional<std::string> query_param(std::string_view q, std::string_view name)
{
    while (!q.empty()) {
        auto amp = q.find('&');
        auto item = q.substr(0, amp);
        auto eq = item.find('=');
        if (item.substr(0, eq) == name) {
            auto v = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
            return smooch::detail::percent_decode(v).value_or(std::string{});
        }
        if (amp == std::string_view::npos) break;
        q.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

namespace {

bool json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t skip_space(std::string_view s, std::size_t i)
{
    while (i < s.size() && json_space(s[i])) ++i;
    return i;
}

/// End (one past the closing quote) of the string token starting at s[i] == '"'.
std::size_t string_end(std::string_view s, std::size_t i)
{
    for (++i; i < s.size(); ++i) {
        if (s[i] == '\\') ++i;
        else if (s[i] == '"') return i + 1;
    }
    return std::string_view::npos;
}

/// End of the value starting at s[i]. Only for text the JSON parser accepted.
std::size_t value_end(std::string_view s, std::size_t i)
{
    if (s[i] == '"') return string_end(s, i);
    if (s[i] == '{' || s[i] == '[') {
        std::size_t depth = 0;
        while (i < s.size()) {
            char c = s[i];
            if (c == '"') {
                i = string_end(s, i);
                if (i == std::string_view::npos) return i;
                continue;
            }
            if (c == '{' || c == '[') ++depth;
            else if ((c == '}' || c == ']') && --depth == 0) return i + 1;
            ++i;
        }
        return std::string_view::npos;
    }
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && !json_space(s[i])) ++i;
    return i;
}

}  // namespace

bool split_members(std::string_view s, raw_members& out)
{
    std::size_t i = skip_space(s, 0);
    if (i >= s.size() || s[i] != '{') return false;
    i = skip_space(s, i + 1);
    if (i < s.size() && s[i] == '}') return true;
    while (i < s.size()) {
        if (s[i] != '"') return false;
        std::size_t key_end = string_end(s, i);
        if (key_end == std::string_view::npos) return false;
        raw_member m;
        m.key_token = s.substr(i, key_end - i);
        std::string_view inner = m.key_token.substr(1, m.key_token.size() - 2);
        if (inner.find('\\') == std::string_view::npos) {
            m.key.assign(inner);
        } else {
            boost::system::error_code ec;
            auto k = boost::json::parse(m.key_token, ec);
            if (ec || !k.is_string()) return false;
            m.key.assign(k.get_string().data(), k.get_string().size());
        }
        i = skip_space(s, key_end);
        if (i >= s.size() || s[i] != ':') return false;
        i = skip_space(s, i + 1);
        if (i >= s.size()) return false;
        std::size_t end = value_end(s, i);
        if (end == std::string_view::npos || end == i) return false;
        m.value = s.substr(i, end - i);
        out.push_back(std::move(m));
        i = skip_space(s, end);
        if (i < s.size() && s[i] == '}') return true;
        if (i >= s.size() || s[i] != ',') return false;
        i = skip_space(s, i + 1);
    }
    return false;
}

bool split_elements(std::string_view s, std::vector<std::string_view>& out)
{
    std::size_t i = skip_space(s, 0);
    if (i >= s.size() || s[i] != '[') return false;
    i = skip_space(s, i + 1);
    if (i < s.size() && s[i] == ']') return true;
    while (i < s.size()) {
        std::size_t end = value_end(s, i);
        if (end == std::string_view::npos || end == i) return false;
        out.push_back(s.substr(i, end - i));
        i = skip_space(s, end);
        if (i < s.size() && s[i] == ']') return true;
        if (i >= s.size() || s[i] != ',') return false;
        i = skip_space(s, i + 1);
    }
    return false;
}

}  // namespace smooch::mock::detail

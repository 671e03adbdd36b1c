// SPDX-License-Identifier: BSL-1.0
// Retry-After parsing (RFC 9110 §10.2.3): delta-seconds or an HTTP-date in any of its three forms.

#include "pipeline/retry_after.hpp"

#include <array>
#include <charconv>
#include <vector>

namespace smooch::detail {
namespace {

std::vector<std::string_view> split_spaces(std::string_view s)
{
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && s[i] == ' ') ++i;
        std::size_t j = i;
        while (j < s.size() && s[j] != ' ') ++j;
        if (j > i) out.push_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

bool to_int(std::string_view s, int& out)
{
    if (s.empty() || s.size() > 4) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
}

int month_of(std::string_view m)
{
    static constexpr std::array<std::string_view, 12> names = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == m) return static_cast<int>(i) + 1;
    return 0;
}

bool parse_clock(std::string_view s, int& h, int& m, int& sec)
{
    return s.size() == 8 && s[2] == ':' && s[5] == ':' && to_int(s.substr(0, 2), h) && to_int(s.substr(3, 2), m) &&
           to_int(s.substr(6, 2), sec) && h < 24 && m < 60 && sec <= 60;
}

// Milliseconds, not the clock's nanoseconds: every 4-digit year fits (nanoseconds end in 1677 and 2262).
std::optional<std::chrono::sys_time<std::chrono::milliseconds>> parse_http_date(std::string_view v)
{
    auto t = split_spaces(v);
    int day = 0, month = 0, year = 0, h = 0, m = 0, s = 0;
    if (t.size() == 6 && t[0].size() == 4 && t[0].back() == ',' && t[5] == "GMT") {
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        if (t[1].size() != 2 || !to_int(t[1], day) || !(month = month_of(t[2])) || t[3].size() != 4 ||
            !to_int(t[3], year) || !parse_clock(t[4], h, m, s))
            return std::nullopt;
    } else if (t.size() == 4 && t[0].back() == ',' && t[3] == "GMT") {
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        auto d = t[1];
        if (d.size() != 9 || d[2] != '-' || d[6] != '-' || !to_int(d.substr(0, 2), day) ||
            !(month = month_of(d.substr(3, 3))) || !to_int(d.substr(7, 2), year) || !parse_clock(t[2], h, m, s))
            return std::nullopt;
        year += year < 70 ? 2000 : 1900;
    } else if (t.size() == 5 && t[0].size() == 3) {
        // asctime: Sun Nov  6 08:49:37 1994
        if (!(month = month_of(t[1])) || t[2].size() > 2 || !to_int(t[2], day) || !parse_clock(t[3], h, m, s) ||
            t[4].size() != 4 || !to_int(t[4], year))
            return std::nullopt;
    } else {
        return std::nullopt;
    }
    using namespace std::chrono;
    year_month_day ymd{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                       std::chrono::day(static_cast<unsigned>(day))};
    if (!ymd.ok()) return std::nullopt;
    return sys_days(ymd) + hours(h) + minutes(m) + seconds(s);
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view v,
                                                           std::chrono::system_clock::time_point now)
{
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    if (v.empty()) return std::nullopt;
    if (v.find_first_not_of("0123456789") == std::string_view::npos) {
        // delta-seconds; absurdly long values saturate (the caller caps them anyway).
        if (v.size() > 9) return std::chrono::milliseconds(std::chrono::seconds(999'999'999));
        std::int64_t secs = 0;
        std::from_chars(v.data(), v.data() + v.size(), secs);
        return std::chrono::milliseconds(std::chrono::seconds(secs));
    }
    auto when = parse_http_date(v);
    if (!when) return std::nullopt;
    // `when` is whole seconds, so when - floor(now) is the wait rounded up to a millisecond.
    const auto now_ms = std::chrono::floor<std::chrono::milliseconds>(now);
    if (*when <= now_ms) return std::chrono::milliseconds(0);
    return *when - now_ms;
}

}  // namespace smooch::detail

// SPDX-License-Identifier: BSL-1.0
#include "dispatch/progress_bar.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace smooch::dispatch::detail {

namespace {

std::string eta_text(double seconds)
{
    if (!std::isfinite(seconds) || seconds < 0 || seconds > 99 * 3600.0) return "--:--";
    const auto s = static_cast<unsigned long>(seconds + 0.5);
    char b[32];
    if (s >= 3600) std::snprintf(b, sizeof b, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
    else std::snprintf(b, sizeof b, "%lu:%02lu", s / 60, s % 60);
    return b;
}

}  // namespace

std::string render_progress(const progress_view& v, unsigned width)
{
    char b[256];
    std::string text;
    if (v.total) {
        const double frac = std::min(1.0, static_cast<double>(v.done) / static_cast<double>(v.total));
        const double eta = v.rate > 0 ? static_cast<double>(v.total - std::min(v.done, v.total)) / v.rate : NAN;
        std::snprintf(b, sizeof b, " %llu/%llu %3.0f%% %.0f/s ETA %s", static_cast<unsigned long long>(v.done),
                      static_cast<unsigned long long>(v.total), frac * 100, v.rate, eta_text(eta).c_str());
    } else {
        std::snprintf(b, sizeof b, " %llu %.0f/s", static_cast<unsigned long long>(v.done), v.rate);
    }
    text = b;
    std::snprintf(b, sizeof b, " failed %llu unknown %llu", static_cast<unsigned long long>(v.failed),
                  static_cast<unsigned long long>(v.unknown));
    text += b;
    const std::size_t room = width > 1 ? width - 1 : 0;
    if (v.total && text.size() + 12 <= room) {  // a bar of at least 10 cells, with its brackets
        const std::size_t cells = std::min<std::size_t>(room - text.size() - 2, 50);
        const auto filled = static_cast<std::size_t>(
            static_cast<double>(cells) * std::min(1.0, static_cast<double>(v.done) / static_cast<double>(v.total)));
        return "[" + std::string(filled, '#') + std::string(cells - filled, '.') + "]" + text;
    }
    if (text.size() > room) text.resize(room);
    if (!text.empty() && text.front() == ' ') text.erase(0, 1);
    return text;
}

unsigned terminal_width(int fd)
{
    winsize ws{};
    if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 80;
}

}  // namespace smooch::dispatch::detail

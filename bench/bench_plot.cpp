// SPDX-License-Identifier: BSL-1.0
// smooch-bench's SVG latency plot (bench_util.hpp): latency by percentile, the usual HDR plot, where x is
// log10(1/(1-p)) so that 90 %, 99 %, 99.9 %… are evenly spaced; y on a linear scale with round ticks, or on a log
// scale (ticks 1, 2, 5 × 10^n) when the tail is more than 20 times the median, so the body stays readable.

#include "bench_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace smooch::bench {

namespace {

/// Round tick spacing for [0, top]: 1, 2, 2.5 or 5 times a power of ten, about five ticks.
double nice_step(double top)
{
    const double raw = top / 5;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
        if (m * mag >= raw) return m * mag;
    return 10 * mag;
}

/// Fraction digits that show every multiple of `step` exactly (0.25 -> 2, 5 -> 0).
int decimals_for(double step)
{
    for (int d = 0; d < 6; ++d) {
        const double scaled = step * std::pow(10.0, d);
        if (std::fabs(scaled - std::round(scaled)) < 1e-9 * std::max(1.0, scaled)) return d;
    }
    return 6;
}

std::string label(double v, int decimals)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

}  // namespace

std::string plot_svg(const hdr_histogram& ours, const hdr_histogram* peer, const options& o)
{
    if (peer && peer->count() == 0) peer = nullptr;
    const double count = static_cast<double>(
        std::max<std::uint64_t>(std::max<std::uint64_t>(ours.count(), peer ? peer->count() : 0), 1));
    const double decades = std::clamp(std::floor(std::log10(count)), 1.0, 6.0);
    const double data_max_ms = std::max(static_cast<double>(std::max(ours.max(), peer ? peer->max() : 0)) / 1e6, 0.001);
    double data_low_ms = static_cast<double>(ours.percentile(50)) / 1e6;  // the lower of the two medians
    if (peer) data_low_ms = std::min(data_low_ms, static_cast<double>(peer->percentile(50)) / 1e6);
    const bool log_scale = data_low_ms > 0 && data_max_ms / data_low_ms > 20;

    // Ticks: round values, with as many fraction digits as the smallest needs.
    std::vector<double> ticks;
    double ymin = 0, ymax = 0;
    if (log_scale) {
        const double lo_decade = std::pow(10.0, std::floor(std::log10(static_cast<double>(ours.min()) / 1e6 * 0.9)));
        ymin = std::max(lo_decade, 0.001);
        ymax = ymin;
        for (double d = ymin; ymax < data_max_ms * 1.05; d *= 10)
            for (double m : {1.0, 2.0, 5.0})
                if (ymax < data_max_ms * 1.05) ticks.push_back(ymax = m * d);
    } else {
        const double step = nice_step(data_max_ms * 1.05);
        ymax = std::ceil(data_max_ms * 1.05 / step) * step;
        for (double v = 0; v <= ymax + step / 2; v += step) ticks.push_back(v);
    }
    // Linear ticks share their digits (0.5, 1.0, 1.5); log ticks each have their own (0.5, 1, 2, 5, 10).
    int digits = 0;
    for (double t : ticks)
        if (t > 0) digits = std::max(digits, decimals_for(t));
    auto tick_label = [&](double t) { return label(t, log_scale ? decimals_for(t) : digits); };
    std::size_t widest = 1;
    for (double t : ticks) widest = std::max(widest, tick_label(t).size());

    const double W = 800, H = 480, R = 40, T = 56, B = 56;
    const double L = 40 + 7.5 * static_cast<double>(widest);  // axis title, gap, the widest tick label
    auto X = [&](double q) { return L + (W - L - R) * q / decades; };
    auto Y = [&](double v) {
        if (log_scale) {
            v = std::max(v, ymin);
            return H - B - (H - T - B) * (std::log10(v) - std::log10(ymin)) / (std::log10(ymax) - std::log10(ymin));
        }
        return H - B - (H - T - B) * v / ymax;
    };

    std::ostringstream svg;
    svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H
        << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n";
    const std::string loop = o.rate > 0 ? "open loop at " + label(o.rate, 0) + " messages/s" : "closed loop";
    svg << "<text x='" << L << "' y='20' font-size='14'>smooch-bench latency by percentile, " << loop << "</text>\n"
        << "<text x='" << L << "' y='38' fill='#555'>" << ours.count() << " delivered calls, " << o.concurrency
        << " in flight, " << o.connections << " connections</text>\n";

    for (int d = 0; d <= static_cast<int>(decades); ++d) {
        static const char* const labels[] = {"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"};
        const double x = X(d);
        svg << "<line x1='" << x << "' y1='" << T << "' x2='" << x << "' y2='" << H - B << "' stroke='#ddd'/>"
            << "<text x='" << x << "' y='" << H - B + 18 << "' text-anchor='middle'>" << labels[std::min(d, 6)]
            << "</text>\n";
    }
    for (double v : ticks) {
        const double y = Y(v);
        svg << "<line x1='" << L << "' y1='" << y << "' x2='" << W - R << "' y2='" << y << "' stroke='#ddd'/>"
            << "<text x='" << L - 6 << "' y='" << y + 4 << "' text-anchor='end'>" << tick_label(v) << "</text>\n";
    }
    svg << "<line x1='" << L << "' y1='" << H - B << "' x2='" << W - R << "' y2='" << H - B << "' stroke='#888'/>"
        << "<line x1='" << L << "' y1='" << T << "' x2='" << L << "' y2='" << H - B << "' stroke='#888'/>\n";
    svg << "<text x='" << (L + W - R) / 2 << "' y='" << H - 14 << "' text-anchor='middle'>percentile</text>\n"
        << "<text transform='translate(16," << (T + H - B) / 2 << ") rotate(-90)' text-anchor='middle'>latency (ms"
        << (log_scale ? ", log scale" : "") << ")</text>\n";

    auto curve = [&](const hdr_histogram& h, const char* colour) {
        svg << "<polyline fill='none' stroke='" << colour << "' stroke-width='2' points='";
        const int steps = 400;
        for (int i = 0; i <= steps; ++i) {
            const double q = decades * i / steps;
            const double p = 100.0 * (1.0 - std::pow(10.0, -q));
            svg << X(q) << ',' << Y(static_cast<double>(h.percentile(p)) / 1e6) << ' ';
        }
        svg << "'/>\n";
    };
    struct entry {
        const hdr_histogram* h;
        const char* colour;
        const char* name;
    };
    std::vector<entry> entries{{&ours, "#1f5fbf", "smooch-cpp"}};
    if (peer) entries.push_back({peer, "#d9730d", "libcurl peer"});
    for (const auto& e : entries) curve(*e.h, e.colour);
    // Legend, top left inside the plot (the curves rise to the right).
    double ly = T + 16;
    for (const auto& e : entries) {
        svg << "<line x1='" << L + 12 << "' y1='" << ly - 4 << "' x2='" << L + 36 << "' y2='" << ly - 4 << "' stroke='"
            << e.colour << "' stroke-width='2'/><text x='" << L + 42 << "' y='" << ly << "'>" << e.name << " ("
            << e.h->count() << " calls)</text>\n";
        ly += 18;
    }
    svg << "</svg>\n";
    return svg.str();
}

}  // namespace smooch::bench

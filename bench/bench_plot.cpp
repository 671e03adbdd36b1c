// SPDX-License-Identifier: BSL-1.0
// smooch-bench's SVG latency plot (bench_util.hpp): latency by percentile, the usual HDR plot, where x is
// log10(1/(1-p)) so that 90 %, 99 %, 99.9 %… are evenly spaced; y on a linear scale with round ticks.

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
    const double step = nice_step(data_max_ms * 1.05);
    const double ymax = std::ceil(data_max_ms * 1.05 / step) * step;
    const int digits = decimals_for(step);
    std::size_t widest = 1;
    for (double v = 0; v <= ymax + step / 2; v += step) widest = std::max(widest, label(v, digits).size());

    const double W = 800, H = 480, R = 20, T = 56, B = 56;
    const double L = 40 + 7.5 * static_cast<double>(widest);  // axis title, gap, the widest tick label
    auto X = [&](double q) { return L + (W - L - R) * q / decades; };
    auto Y = [&](double v) { return H - B - (H - T - B) * v / ymax; };

    std::ostringstream svg;
    svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H
        << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n";
    const std::string loop = o.rate > 0 ? "open loop at " + label(o.rate, 0) + " messages/s" : "closed loop";
    svg << "<text x='" << L << "' y='20' font-size='14'>smooch-bench latency by percentile: " << ours.count()
        << " delivered, " << loop << ", " << o.concurrency << " in flight, " << o.connections
        << " connections</text>\n";

    for (int d = 0; d <= static_cast<int>(decades); ++d) {
        static const char* const labels[] = {"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"};
        const double x = X(d);
        svg << "<line x1='" << x << "' y1='" << T << "' x2='" << x << "' y2='" << H - B << "' stroke='#ddd'/>"
            << "<text x='" << x << "' y='" << H - B + 18 << "' text-anchor='middle'>" << labels[std::min(d, 6)]
            << "</text>\n";
    }
    for (double v = 0; v <= ymax + step / 2; v += step) {
        const double y = Y(v);
        svg << "<line x1='" << L << "' y1='" << y << "' x2='" << W - R << "' y2='" << y << "' stroke='#ddd'/>"
            << "<text x='" << L - 6 << "' y='" << y + 4 << "' text-anchor='end'>" << label(v, digits) << "</text>\n";
    }
    svg << "<line x1='" << L << "' y1='" << H - B << "' x2='" << W - R << "' y2='" << H - B << "' stroke='#888'/>"
        << "<line x1='" << L << "' y1='" << T << "' x2='" << L << "' y2='" << H - B << "' stroke='#888'/>\n";
    svg << "<text x='" << (L + W - R) / 2 << "' y='" << H - 14 << "' text-anchor='middle'>percentile</text>\n"
        << "<text transform='translate(16," << (T + H - B) / 2
        << ") rotate(-90)' text-anchor='middle'>latency (ms)</text>\n";

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

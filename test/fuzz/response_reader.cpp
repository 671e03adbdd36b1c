// SPDX-License-Identifier: BSL-1.0
// The client's HTTP/1.1 response framing (response_reader, with the exchange's read loop): any byte stream,
// 1xx heads and chunked bodies included, ends in a complete response or an error, within the limits. The first
// input byte seeds how the stream is cut into reads; the result must not depend on the cut (the same stream
// read in one piece gives the same answer, or both fail).

#include "transport/response_reader.hpp"

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

constexpr std::size_t header_limit = 4096;
constexpr std::size_t body_limit = 16 * 1024;

struct outcome {
    smooch::error_code ec;
    bool done = false, keep_alive = false;
    unsigned status = 0, interim = 0;
    std::string retry_after, body;
    std::size_t left = 0;  // bytes after the response
};

// Mirrors exchange.cpp: parse what is buffered, read more only when the parser needs it, EOF at the end.
outcome read(std::string_view stream, std::uint8_t seed)
{
    smooch::detail::response_reader r(header_limit, body_limit);
    outcome o;
    std::string buf;
    std::size_t pos = 0;
    std::uint32_t rng = seed;
    while (!r.done()) {
        if (!buf.empty()) {
            const std::size_t n = r.put(boost::asio::buffer(buf), o.ec);
            if (n > buf.size()) std::abort();
            buf.erase(0, n);
            if (o.ec == boost::beast::http::error::need_more) o.ec = {};
            if (o.ec || r.done()) break;
        }
        if (pos == stream.size()) {
            r.put_eof(o.ec);
            break;
        }
        std::size_t cut = stream.size() - pos;
        if (seed != 0) {
            rng = rng * 1103515245u + 12345u;
            cut = std::min<std::size_t>(cut, 1 + (rng >> 16) % 64);
        }
        buf.append(stream.substr(pos, cut));
        pos += cut;
    }
    o.done = r.done();
    if (o.done) {
        o.status = r.status();
        o.keep_alive = r.keep_alive();
        o.retry_after = r.retry_after();
        o.body = r.body();
        o.left = buf.size() + (stream.size() - pos);
    }
    o.interim = r.interim();
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) return 0;
    const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
    const outcome cut = read(stream, static_cast<std::uint8_t>(data[0] | 1));
    const outcome whole = read(stream, 0);

    if (cut.done && !cut.ec) {
        if (cut.status < 200 || cut.status > 599) {
            std::fprintf(stderr, "final response with status %u\n", cut.status);
            std::abort();
        }
        if (cut.body.size() > body_limit) {
            std::fprintf(stderr, "body of %zu bytes passed the %zu limit\n", cut.body.size(), body_limit);
            std::abort();
        }
    }
    // Both failing is the same answer even when the errors differ: Beast rejects a malformed field before the
    // end of the head only in some read patterns (else the stream ends first: partial message).
    const bool both_failed = cut.ec && whole.ec;
    const bool same = both_failed || (cut.ec == whole.ec && cut.done == whole.done && cut.status == whole.status &&
                                      cut.body == whole.body && cut.retry_after == whole.retry_after &&
                                      cut.keep_alive == whole.keep_alive && cut.left == whole.left);
    if (!same) {
        std::fprintf(stderr,
                     "cut reads: %s done=%d status=%u body=%zu left=%zu; one read: %s done=%d status=%u "
                     "body=%zu left=%zu\n",
                     cut.ec.message().c_str(), cut.done, cut.status, cut.body.size(), cut.left,
                     whole.ec.message().c_str(), whole.done, whole.status, whole.body.size(), whole.left);
        std::abort();
    }
    return 0;
}

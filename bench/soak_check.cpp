// SPDX-License-Identifier: BSL-1.0
// smooch-soak-check: audits what smooch-bench reported (--outcomes FILE, one JSON line per call) against what
// smooch-mock stored (GET /_admin/record). bench/soak.sh runs it after a fault soak; docs/bench.md, "Fault soak".
//
// Message seq has text "seq <seq>" and goes to user <prefix><(seq-1) mod M> (smooch-bench's load), so the record
// says, per seq, how many times and where it was stored. The checks:
//   - no message stored twice;
//   - every delivered call (201) stored, once, in its own conversation;
//   - every message not stored reported failed;
//   - a failure reported applied (diagnostics::applied: the server answered 2xx, e.g. unreadable_response) must
//     be stored; one with outcome_unknown may go either way, and the record says which (counted); any other
//     failure is definitive: its message must not exist;
//   - one outcome line per call, seq 1..N.
// Exit status 0 when every check holds, 1 when one fails, 2 for bad usage or an unreadable input.

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

namespace {

struct help_requested {};
constexpr const char* usage_text = "usage: smooch-soak-check --url MOCK_URL [--ca FILE] --outcomes FILE --messages N\n"
                                   "           [--users M] [--user-prefix P] [--app A]\n";

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct args {
    std::string url, ca, outcomes, prefix = "soak-", app = "app_bench";
    std::uint64_t messages = 0, users = 100;
};

std::uint64_t number(const std::string& flag, const std::string& v)
{
    std::size_t used = 0;
    std::uint64_t n = 0;
    try {
        n = std::stoull(v, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != v.size() || n == 0) throw usage_error(flag + ": '" + v + "' is not a positive integer");
    return n;
}

args parse(int argc, char** argv)
{
    args a;
    for (int i = 1; i < argc; ++i) {
        const std::string f = argv[i];
        if (f == "--help") throw help_requested{};
        if (i + 1 >= argc) throw usage_error(f + " needs a value");
        const std::string v = argv[++i];
        if (f == "--url") a.url = v;
        else if (f == "--ca") a.ca = v;
        else if (f == "--outcomes") a.outcomes = v;
        else if (f == "--user-prefix") a.prefix = v;
        else if (f == "--app") a.app = v;
        else if (f == "--messages") a.messages = number(f, v);
        else if (f == "--users") a.users = number(f, v);
        else throw usage_error("unknown option '" + f + "'");
    }
    if (a.url.empty() || a.outcomes.empty() || a.messages == 0)
        throw usage_error("--url, --outcomes and --messages are required");
    return a;
}

/// GET <url>/_admin/record over https (trusting --ca) or http: the mock's record as JSON text.
std::string fetch_record(const args& a)
{
    auto u = boost::urls::parse_uri(a.url);
    if (!u) throw usage_error("--url: not a URL: " + a.url);
    const bool tls = u->scheme() == "https";
    const std::string host = u->host(), port = u->has_port() ? std::string(u->port()) : (tls ? "443" : "80");
    asio::io_context io;
    asio::ip::tcp::resolver res(io);
    const auto eps = res.resolve(host, port);
    http::request<http::empty_body> req{http::verb::get, "/_admin/record", 11};
    req.set(http::field::host, host);
    req.set(http::field::connection, "close");
    beast::flat_buffer buf;
    http::response_parser<http::string_body> p;
    p.body_limit(std::uint64_t{4} << 30);  // 10^6 messages are about 70 MB of JSON
    p.header_limit(64 << 10);
    if (tls) {
        asio::ssl::context ctx(asio::ssl::context::tls_client);
        if (a.ca.empty()) ctx.set_default_verify_paths();
        else ctx.load_verify_file(a.ca);
        ctx.set_verify_mode(asio::ssl::verify_peer);
        beast::ssl_stream<beast::tcp_stream> s(io, ctx);
        beast::get_lowest_layer(s).connect(eps);
        s.handshake(asio::ssl::stream_base::client);
        http::write(s, req);
        http::read(s, buf, p);
    } else {
        beast::tcp_stream s(io);
        s.connect(eps);
        http::write(s, req);
        http::read(s, buf, p);
    }
    if (p.get().result_int() != 200)
        throw std::runtime_error("GET /_admin/record answered " + std::to_string(p.get().result_int()) +
                                 " (is smooch-mock running with --admin?)");
    return std::move(p.get().body());
}

std::uint64_t seq_of(std::string_view text)  // "seq N" -> N; 0 if it is not one of ours
{
    if (text.substr(0, 4) != "seq " || text.size() == 4 || text.size() > 24) return 0;
    std::uint64_t v = 0;
    for (char c : text.substr(4)) {
        if (c < '0' || c > '9') return 0;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
}

struct outcome {
    bool seen = false, ok = false, unknown = false, applied = false;
    std::string error;  // the failure's identifier
};

void add_example(std::string& list, std::uint64_t seq, int& n)
{
    if (n++ < 10) list += (list.empty() ? "" : ", ") + std::to_string(seq);
}

int run(const args& a)
{
    // ---- what the mock stored
    const std::string text = fetch_record(a);
    boost::system::error_code ec;
    json::value rv = json::parse(text, ec);
    if (ec || !rv.is_object()) throw std::runtime_error("the record is not a JSON object: " + ec.message());
    const json::object& rec = rv.as_object();
    std::vector<std::uint32_t> stored(a.messages + 1, 0);
    std::uint64_t stored_total = 0, foreign = 0, misplaced = 0, created = 0, ours_convs = 0;
    std::string misplaced_ex;
    int misplaced_n = 0;
    for (const auto& cv : rec.at("conversations").as_array()) {
        const auto& c = cv.as_object();
        const std::string_view user = c.at("user_id").as_string();
        if (c.at("app_id").as_string() != a.app || user.substr(0, a.prefix.size()) != a.prefix) continue;
        ++ours_convs;
        created += c.at("created_ids").as_array().size();
        for (const auto& t : c.at("texts").as_array()) {
            const std::uint64_t s = t.is_string() ? seq_of(t.as_string()) : 0;
            if (s == 0 || s > a.messages) {
                ++foreign;
                continue;
            }
            ++stored[s];
            ++stored_total;
            if (user != a.prefix + std::to_string((s - 1) % a.users)) {
                ++misplaced;
                add_example(misplaced_ex, s, misplaced_n);
            }
        }
    }

    // ---- what the client reported
    std::ifstream in(a.outcomes);
    if (!in) throw std::runtime_error("--outcomes: cannot read " + a.outcomes);
    std::vector<outcome> out(a.messages + 1);
    std::uint64_t lines = 0, bad_lines = 0, repeated = 0, out_of_range = 0;
    std::string line;
    while (std::getline(in, line)) {
        ++lines;
        json::value v = json::parse(line, ec);
        if (ec || !v.is_object() || !v.as_object().contains("seq")) {
            ++bad_lines;
            continue;
        }
        const auto& o = v.as_object();
        const auto s = o.at("seq").to_number<std::uint64_t>();
        if (s == 0 || s > a.messages) {
            ++out_of_range;
            continue;
        }
        auto& r = out[s];
        if (r.seen) ++repeated;
        r.seen = true;
        r.ok = o.at("error").is_null();
        r.unknown = o.at("outcome_unknown").as_bool();
        r.applied = o.contains("applied") && o.at("applied").as_bool();
        if (!r.ok) r.error = std::string(o.at("error").as_string());
    }

    // ---- the checks
    std::uint64_t delivered = 0, failed = 0, twice = 0, lost = 0, missing = 0, definitive_stored = 0,
                  unknown_stored = 0, unknown_absent = 0, definitive_absent = 0, applied_stored = 0, applied_absent = 0;
    std::string twice_ex, lost_ex, missing_ex, definitive_ex, applied_ex;
    int twice_n = 0, lost_n = 0, missing_n = 0, definitive_n = 0, applied_n = 0;
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> by_kind;  // failure kind -> (calls, stored)
    for (std::uint64_t s = 1; s <= a.messages; ++s) {
        const auto& r = out[s];
        if (stored[s] > 1) {
            ++twice;
            add_example(twice_ex, s, twice_n);
        }
        if (!r.seen) {
            ++missing;
            add_example(missing_ex, s, missing_n);
            continue;
        }
        if (r.ok) {
            ++delivered;
            if (stored[s] == 0) {
                ++lost;
                add_example(lost_ex, s, lost_n);
            }
            continue;
        }
        ++failed;
        auto& k = by_kind[r.error + (r.applied ? " (applied)" : r.unknown ? " (outcome_unknown)" : "")];
        ++k.first;
        k.second += stored[s] > 0;
        if (r.applied) {
            if (stored[s]) {
                ++applied_stored;
            } else {
                ++applied_absent;
                add_example(applied_ex, s, applied_n);
            }
        } else if (r.unknown) {
            ++(stored[s] ? unknown_stored : unknown_absent);
        } else if (stored[s]) {
            ++definitive_stored;
            add_example(definitive_ex, s, definitive_n);
        } else {
            ++definitive_absent;
        }
    }

    auto u = [&](const char* k) { return rec.contains(k) ? rec.at(k).to_number<std::uint64_t>() : 0; };
    std::printf("record: %" PRIu64 " messages stored in %" PRIu64 " conversations (%" PRIu64
                " ids created); mock: %" PRIu64 " requests, %" PRIu64 " rate limited\n",
                stored_total, ours_convs, created, u("requests_total"), u("rate_limited"));
    if (rec.contains("faults")) {
        std::printf("  faults fired:");
        for (const auto& [name, n] : rec.at("faults").as_object())
            std::printf(" %s %" PRIu64, std::string(name).c_str(), n.to_number<std::uint64_t>());
        std::printf("\n");
    }
    std::printf("outcomes: %" PRIu64 " lines; %" PRIu64 " delivered, %" PRIu64 " failed: %" PRIu64
                " applied (2xx unreadable), %" PRIu64 " with outcome_unknown (%" PRIu64 " stored, %" PRIu64
                " not), %" PRIu64 " definitive\n",
                lines, delivered, failed, applied_stored + applied_absent, unknown_stored + unknown_absent,
                unknown_stored, unknown_absent, definitive_stored + definitive_absent);
    if (!by_kind.empty()) {
        std::printf("  failures by kind (calls, of which stored):\n");
        for (const auto& [kind, n] : by_kind)
            std::printf("    %-56s %8" PRIu64 " %8" PRIu64 "\n", kind.c_str(), n.first, n.second);
    }
    bool pass = true;
    auto check = [&](const char* what, std::uint64_t n, const std::string& ex) {
        std::printf("  %-58s %8" PRIu64 "  %s%s%s\n", what, n, n ? "FAIL" : "ok", ex.empty() ? "" : "  e.g. seq ",
                    ex.c_str());
        pass = pass && n == 0;
    };
    std::printf("checks:\n");
    check("messages stored twice", twice, twice_ex);
    check("delivered (201) but not stored", lost, lost_ex);
    check("failed definitively (not applied, not unknown), yet stored", definitive_stored, definitive_ex);
    check("failed as applied (2xx), yet not stored", applied_absent, applied_ex);
    check("stored in another user's conversation", misplaced, misplaced_ex);
    check("calls without an outcome line", missing, missing_ex);
    check("outcome lines repeated, unreadable or foreign", repeated + bad_lines + out_of_range, "");
    check("stored messages that are not ours", foreign, "");
    // Not stored and not reported failed is "delivered but not stored" above; not stored and reported failed is
    // what a failure should be. Every outcome_unknown matches the record by construction: either answer is true.
    std::printf("soak check: %s\n", pass ? "PASS" : "FAIL");
    return pass ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv)
{
    try {
        return run(parse(argc, argv));
    } catch (const help_requested&) {
        std::fputs(usage_text, stdout);
        return 0;
    } catch (const usage_error& e) {
        std::fprintf(stderr, "smooch-soak-check: %s\n%s", e.what(), usage_text);
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "smooch-soak-check: %s\n", e.what());
        return 2;
    }
}

// SPDX-License-Identifier: BSL-1.0
// smooch-mock: the program. Parses argv by hand (no Boost.Program_options in our dependency set), runs the
// server on one thread and stops on SIGINT/SIGTERM.

#include <smooch/mock/server.hpp>
#include <smooch/version.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr const char* usage = R"(usage: smooch-mock [options]

A local Smooch-compatible server (REST v1.1 Conversation API) with auth, rate
limits and fault injection. When ready it prints one line, "listening on
https://HOST:PORT" (or http://), and flushes stdout. SIGINT/SIGTERM stop it
cleanly. See docs/mock.md for every rule. Every timeout (MS) is 1..86400000 ms;
anything else is a usage error.

Network and TLS:
  --host HOST              address or host name to bind (default 127.0.0.1; IPv6
                           literals without brackets; a name is resolved once,
                           its first IPv4 address preferred)
  --port N                 port (default 0: the OS chooses; read it from the
                           "listening on" line)
  --tls-cert FILE          PEM certificate chain to serve (with --tls-key)
  --tls-key FILE           PEM private key
  --self-signed            generate a CA and a server certificate at start (the
                           default when neither --tls-cert nor --plain is
                           given); SANs: localhost, 127.0.0.1, ::1 and --host
  --write-ca FILE          with --self-signed: write the generated CA
                           certificate (PEM) to FILE
  --plain                  serve plain HTTP instead of HTTPS

Credentials (repeatable; with none, authentication is off and every request is
accepted):
  --key-id ID --secret S   accept this key (Basic ID:S, or HS256 JWT with kid
                           ID)
  --key-app APP            bind the preceding key to app APP (an app key);
                           default: account key, any app

Rate limit, per app (token bucket):
  --rate-limit RPS         refill rate in requests per second (default: no
                           limit)
  --burst N                bucket size (default: RPS, at least 1)
  --rate-limit-retry-after send Retry-After with the limiter's 429s (default:
                           none, as Smooch does)

Faults (see docs/mock.md for the grammar):
  --fault SPEC             add a fault rule, repeatable, e.g.
                           status=503,retry_after=1,count=5,route=post_message
  --seed N                 seed of the RNG for fault probabilities and ids
                           (default 1)
  --close-after-requests N close each connection after N requests, without
                           Connection: close (default 0 = never)
  --idle-timeout MS        close keep-alive connections idle for MS
                           milliseconds, silently (default 60000)

Limits against hostile clients:
  --header-timeout MS      time to receive request headers (default 10000)
  --body-timeout MS        time to receive a request body (default 30000)
  --header-limit BYTES     largest request head (default 16384; larger gets 431)
  --max-connections N      concurrent connections served (default 1024); up to N
                           more get 503 with Retry-After: 1 and are closed,
                           beyond that they are reset
  --max-recorded N         requests kept in the record (default 100000; later
                           ones are only counted)

Webhooks (docs/mock.md "Webhooks"; off unless --webhook is given):
  --webhook URL            POST webhooks (v1.1 payloads) to URL, http:// or
                           https://
  --webhook-secret S       the shared secret, sent as X-API-Key (required with
                           --webhook; never printed)
  --webhook-triggers LIST  comma-separated triggers (default message: both
                           roles), e.g. message:appUser,conversation:read; also
                           message:appMaker, *
  --webhook-ca FILE        PEM CA certificates to trust for an https target
                           (default: the system's)
  --webhook-timeout MS     time allowed per delivery attempt (default 20000)
  --webhook-retry-base MS  wait before retry n is MS * 2^(n-1) (default 30000)
  --webhook-retries N      retries of a failed delivery, 0..100 (default 5;
                           never after 400, 401, 403, 404, 406)
  --webhook-duplicate P    fault: deliver a webhook twice with probability P,
                           0..1 (seeded by --seed)
  --webhook-fail P         fault: fail an attempt after sending it (the answer
                           is not read) with probability P
  --webhook-fail-first N   fault: fail the first N attempts that way
  --webhook-max-in-flight N  deliveries under way at once (default 64)
  --webhook-queue N        webhooks waiting to be sent (default 10000; more are
                           dropped and recorded)

Admin:
  --admin                  serve /_admin/record (GET),
                           /_admin/faults (POST spec lines, DELETE),
                           /_admin/reset (POST),
                           /_admin/rate-limit (POST "RPS,BURST" or "off"),
                           /_admin/connections (POST
                             "close_after_requests=N,idle_timeout=MS"),
                           /_admin/webhook (GET, POST JSON settings, DELETE)
  --help                   print this help
  --version                print "smooch-mock VERSION"
)";

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <class T>
T number(const std::string& opt, const std::string& v)
{
    T out{};
    auto r = std::from_chars(v.data(), v.data() + v.size(), out);
    if (v.empty() || r.ec != std::errc{} || r.ptr != v.data() + v.size())
        throw usage_error(opt + ": invalid number '" + v + "'");
    return out;
}

/// A timeout in milliseconds, 1..86400000 (server_params' range, checked here to name the flag).
std::chrono::milliseconds timeout_ms(const std::string& opt, const std::string& v)
{
    auto ms = number<long long>(opt, v);
    if (ms < 1 || ms > 86'400'000) throw usage_error(opt + ": must be 1..86400000 ms, got " + v);
    return std::chrono::milliseconds(ms);
}

/// A count that must be at least `min`.
std::size_t count_at_least(const std::string& opt, const std::string& v, std::size_t min)
{
    auto n = number<std::size_t>(opt, v);
    if (n < min) throw usage_error(opt + ": must be at least " + std::to_string(min) + ", got " + v);
    return n;
}

/// A finite number > 0 (requests per second) or >= 1 (a bucket size, `at_least_one`).
double positive(const std::string& opt, const std::string& v, bool at_least_one)
{
    auto d = number<double>(opt, v);
    if (!std::isfinite(d) || d <= 0 || (at_least_one && d < 1))
        throw usage_error(opt + ": must be a finite number " + (at_least_one ? ">= 1" : "> 0") + ", got " + v);
    return d;
}

/// --host: an IP literal as it is, or a host name resolved to one address (IPv4 first, as most clients try).
std::string resolve_host(const std::string& host)
{
    boost::system::error_code ec;
    boost::asio::ip::make_address(host, ec);
    if (!ec) return host;
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver r(io);
    auto results = r.resolve(host, "", boost::asio::ip::tcp::resolver::passive, ec);
    if (ec || results.empty())
        throw usage_error("--host: cannot resolve '" + host + "'" + (ec ? ": " + ec.message() : std::string()));
    for (const auto& e : results)
        if (e.endpoint().address().is_v4()) return e.endpoint().address().to_string();
    return results.begin()->endpoint().address().to_string();
}

/// server_params' own message, with the flag that sets a field instead of the field's name.
std::string name_flags(std::string m)
{
    static const std::pair<std::string_view, std::string_view> fields[] = {
        {"server_params.rate", "--rate-limit/--burst"},
        {"server_params.header_limit", "--header-limit"},
        {"server_params.max_connections", "--max-connections"},
        {"server_params.keys", "--key-id/--secret"},
        {"server_params.faults", "--fault"},
        {"server_params.idle_timeout", "--idle-timeout"},
        {"server_params.header_timeout", "--header-timeout"},
        {"server_params.body_timeout", "--body-timeout"},
        {"server_params.", ""},
    };
    for (auto [field, flag] : fields)
        if (auto at = m.find(field); at != std::string::npos) m.replace(at, field.size(), flag);
    return m;
}

/// A probability flag's value: 0..1.
double probability(const std::string& opt, const std::string& v)
{
    double p = number<double>(opt, v);
    if (!(p >= 0 && p <= 1)) throw usage_error(opt + ": must be in [0, 1], got '" + v + "'");
    return p;
}

/// check_webhook_params() names fields ("webhook.retry_base: ..."); the program names its flags.
std::string flag_named(std::string message)
{
    static const std::pair<const char*, const char*> names[] = {
        {"webhook.target", "--webhook"},
        {"webhook.secret", "--webhook-secret"},
        {"webhook.triggers", "--webhook-triggers"},
        {"webhook.ca_pem", "--webhook-ca"},
        {"webhook.attempt_timeout", "--webhook-timeout"},
        {"webhook.retry_base", "--webhook-retry-base"},
        {"webhook.max_retries", "--webhook-retries"},
        {"webhook.duplicate_probability", "--webhook-duplicate"},
        {"webhook.fail_probability", "--webhook-fail"},
        {"webhook.max_in_flight", "--webhook-max-in-flight"},
        {"webhook.max_queue", "--webhook-queue"}};
    for (auto& [field, flag] : names) {
        std::string prefix = std::string(field) + ":";
        if (message.rfind(prefix, 0) == 0) return flag + message.substr(std::string(field).size());
    }
    return message;
}

std::string read_file(const std::string& path)
{
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read " + path);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

}  // namespace

int main(int argc, char** argv)
{
    namespace mock = smooch::mock;
    mock::server_params p;
    std::string cert_file, key_file, ca_out;
    bool self_signed = false, plain = false;
    std::optional<double> rps, burst;
    std::string host = p.host;  // as given; p.host gets the address it resolves to
    mock::webhook_params hook;
    bool want_webhook = false;
    std::string webhook_flag;  // the first webhook flag seen, for "needs --webhook"
    std::string webhook_ca_file;
    try {
        std::vector<std::string> args(argv + 1, argv + argc);
        bool pending_key = false;  // --key-id seen, --secret not yet
        for (std::size_t i = 0; i < args.size(); ++i) {
            const std::string& a = args[i];
            auto value = [&]() -> std::string {
                if (i + 1 >= args.size()) throw usage_error(a + " needs a value");
                return args[++i];
            };
            if (a == "--help" || a == "-h") {
                std::cout << usage;
                return 0;
            } else if (a == "--version") {
                std::cout << "smooch-mock " << SMOOCH_VERSION_STRING << "\n";
                return 0;
            } else if (a == "--host") host = value();
            else if (a == "--port") p.port = number<unsigned short>(a, value());
            else if (a == "--tls-cert") cert_file = value();
            else if (a == "--tls-key") key_file = value();
            else if (a == "--self-signed") self_signed = true;
            else if (a == "--write-ca") ca_out = value();
            else if (a == "--plain") plain = true;
            else if (a == "--key-id") {
                if (pending_key) throw usage_error("--key-id " + p.keys.back().key_id + " has no --secret");
                p.keys.push_back({value(), {}, std::nullopt});
                if (p.keys.back().key_id.empty()) throw usage_error("--key-id: must not be empty");
                pending_key = true;
            } else if (a == "--secret") {
                if (!pending_key) throw usage_error("--secret must follow --key-id");
                p.keys.back().secret = value();
                if (p.keys.back().secret.empty()) throw usage_error("--secret: must not be empty");
                pending_key = false;
            } else if (a == "--key-app") {
                if (p.keys.empty() || pending_key) throw usage_error("--key-app must follow --key-id ID --secret S");
                p.keys.back().app_id = value();
            } else if (a == "--rate-limit") rps = positive(a, value(), false);
            else if (a == "--burst") burst = positive(a, value(), true);
            else if (a == "--rate-limit-retry-after") p.rate_limit_retry_after = true;
            else if (a == "--fault") {
                try {
                    p.faults.push_back(mock::parse_fault(value()));
                } catch (const std::invalid_argument& e) {
                    throw usage_error("--" + std::string(e.what()));  // "fault: ..." becomes "--fault: ..."
                }
            } else if (a == "--seed") p.seed = number<std::uint64_t>(a, value());
            else if (a == "--admin") p.admin = true;
            else if (a == "--close-after-requests") p.close_after_requests = number<std::size_t>(a, value());
            else if (a == "--idle-timeout") p.idle_timeout = timeout_ms(a, value());
            else if (a == "--header-timeout") p.header_timeout = timeout_ms(a, value());
            else if (a == "--body-timeout") p.body_timeout = timeout_ms(a, value());
            else if (a == "--header-limit") p.header_limit = count_at_least(a, value(), 256);
            else if (a == "--max-connections") p.max_connections = count_at_least(a, value(), 1);
            else if (a == "--max-recorded") p.max_recorded_requests = number<std::size_t>(a, value());
            else if (a.rfind("--webhook", 0) == 0) {
                if (a != "--webhook" && webhook_flag.empty()) webhook_flag = a;
                if (a == "--webhook") {
                    want_webhook = true;
                    hook.target = value();
                } else if (a == "--webhook-secret") hook.secret = value();
                else if (a == "--webhook-triggers") {
                    hook.triggers.clear();
                    std::string list = value();
                    for (std::size_t at = 0; at <= list.size();) {
                        auto comma = std::min(list.find(',', at), list.size());
                        hook.triggers.push_back(list.substr(at, comma - at));
                        at = comma + 1;
                    }
                } else if (a == "--webhook-ca") webhook_ca_file = value();
                else if (a == "--webhook-timeout") hook.attempt_timeout = timeout_ms(a, value());
                else if (a == "--webhook-retry-base") hook.retry_base = timeout_ms(a, value());
                else if (a == "--webhook-retries") hook.max_retries = number<unsigned>(a, value());
                else if (a == "--webhook-duplicate") hook.duplicate_probability = probability(a, value());
                else if (a == "--webhook-fail") hook.fail_probability = probability(a, value());
                else if (a == "--webhook-fail-first") hook.fail_first = number<std::uint64_t>(a, value());
                else if (a == "--webhook-max-in-flight") hook.max_in_flight = number<std::size_t>(a, value());
                else if (a == "--webhook-queue") hook.max_queue = number<std::size_t>(a, value());
                else throw usage_error("unknown option " + a + " (see --help)");
            } else throw usage_error("unknown option " + a + " (see --help)");
        }
        if (pending_key) throw usage_error("--key-id " + p.keys.back().key_id + " has no --secret");
        if (plain && (self_signed || !cert_file.empty() || !key_file.empty()))
            throw usage_error("--plain excludes --self-signed, --tls-cert and --tls-key");
        if (self_signed && (!cert_file.empty() || !key_file.empty()))
            throw usage_error("--self-signed excludes --tls-cert and --tls-key");
        if (cert_file.empty() != key_file.empty()) throw usage_error("--tls-cert and --tls-key go together");
        if (!ca_out.empty() && (plain || !cert_file.empty())) throw usage_error("--write-ca needs --self-signed");
        if (burst && !rps) throw usage_error("--burst needs --rate-limit");
        if (p.rate_limit_retry_after && !rps) throw usage_error("--rate-limit-retry-after needs --rate-limit");
        p.host = resolve_host(host);
        if (rps) p.rate = mock::rate_limit{*rps, burst.value_or(std::max(1.0, *rps))};
        if (!want_webhook && !webhook_flag.empty()) throw usage_error(webhook_flag + " needs --webhook URL");
        if (want_webhook) {
            if (hook.secret.empty()) throw usage_error("--webhook needs --webhook-secret S");
            if (!webhook_ca_file.empty()) {
                try {
                    hook.ca_pem = read_file(webhook_ca_file);
                } catch (const std::exception&) {
                    throw usage_error("--webhook-ca: cannot read " + webhook_ca_file);
                }
            }
            try {
                mock::check_webhook_params(hook);
            } catch (const std::invalid_argument& e) {
                throw usage_error(flag_named(e.what()));
            }
            p.webhook = std::move(hook);
        }
    } catch (const usage_error& e) {
        std::cerr << "smooch-mock: " << e.what() << "\n";
        return 2;
    }

    try {
        if (!plain) {
            if (!cert_file.empty()) {
                p.tls = mock::tls_material{{}, read_file(cert_file), read_file(key_file)};
            } else {
                std::vector<std::string> names{"localhost", "127.0.0.1", "::1"};
                for (const std::string& h : {host, p.host})  // the name given and the address it resolved to
                    if (std::find(names.begin(), names.end(), h) == names.end() && h != "0.0.0.0" && h != "::")
                        names.push_back(h);
                p.tls = mock::generate_tls(names);
                if (!ca_out.empty()) {
                    std::ofstream f(ca_out, std::ios::binary | std::ios::trunc);
                    f << p.tls->ca_pem;
                    if (!f.flush()) throw std::runtime_error("cannot write " + ca_out);
                }
            }
        }
        boost::asio::io_context io(1);
        std::optional<mock::server> srv_holder;
        try {
            srv_holder.emplace(io.get_executor(), p);
        } catch (const std::invalid_argument& e) {  // a bad parameter (server_params' own checks): usage
            std::cerr << "smooch-mock: " << name_flags(e.what()) << "\n";
            return 2;
        }
        auto& srv = *srv_holder;
        try {
            srv.start();
        } catch (const boost::system::system_error& e) {
            std::cerr << "smooch-mock: cannot listen on " << host << " port " << p.port
                      << " (--host, --port): " << e.code().message() << "\n";
            return 1;
        }
        boost::asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](const boost::system::error_code& ec, int) {
            if (!ec) srv.stop();
        });
        std::cout << "listening on " << srv.base_url() << std::endl;  // endl: flush, scripts wait for it
        io.run();
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "smooch-mock: error: " << e.what() << "\n";
        return 1;
    }
}

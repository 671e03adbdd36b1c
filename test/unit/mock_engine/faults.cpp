// SPDX-License-Identifier: BSL-1.0
// Fault rules: the grammar, which requests a rule matches (skip, count, probability drawn from the seeded RNG),
// where faults sit in the order of checks, and the answer each action gives. What the actions then do to the
// connection is the transport's (test/mock/faults.cpp).

#include "engine_test.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

using namespace mock_engine_test;

namespace {

/// A post of "t" to app1/u; the record's last request tells what happened to it.
struct outcome {
    mock::http_response out;
    mock::request_record req;
    std::size_t stored = 0;  // messages in app1/u afterwards
};

outcome post_with(const std::string& spec)
{
    driver d;
    d.e.add_fault(mock::parse_fault(spec));
    outcome o;
    o.out = d.post("app1", "u", "t");
    auto rec = d.e.snapshot();
    o.req = rec.requests.back();
    if (auto* c = rec.find("app1", "u")) o.stored = c->messages.size();
    BOOST_TEST(rec.fault_count(o.out.fault) == 1u);
    BOOST_TEST(rec.operation_count("post_message") == o.stored);
    return o;
}

bool is_json(const std::string& s)
{
    boost::system::error_code ec;
    json::parse(s, ec);
    return !ec;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(faults)

BOOST_AUTO_TEST_CASE(grammar)
{
    auto r = mock::parse_fault("status=503,retry_after=1,count=5,route=post_message");
    BOOST_TEST((r.action == mock::fault_action::status));
    BOOST_TEST(r.status == 503u);
    BOOST_TEST(*r.retry_after == "1");
    BOOST_TEST(*r.count == 5u);
    BOOST_TEST(*r.route == "post_message");
    r = mock::parse_fault(R"(status=429,retry_after="Wed, 21 Oct 2015 07:28:00 GMT",method=GET)");
    BOOST_TEST(*r.retry_after == "Wed, 21 Oct 2015 07:28:00 GMT");
    BOOST_TEST(*r.method == "GET");
    r = mock::parse_fault("reset,apply,app=app 1,user=u,skip=2,probability=0.5,delay=20");
    BOOST_TEST((r.action == mock::fault_action::reset));
    BOOST_TEST(r.apply_before_fault);
    BOOST_TEST(*r.app_id == "app 1");
    BOOST_TEST(*r.user_id == "u");
    BOOST_TEST(r.skip == 2u);
    BOOST_TEST(r.probability == 0.5);
    BOOST_TEST(r.delay.count() == 20);
    BOOST_TEST(!r.count);
    r = mock::parse_fault("malformed,status=200");
    BOOST_TEST((r.action == mock::fault_action::malformed));
    BOOST_TEST(r.status == 200u);
    r = mock::parse_fault("status=201,truncate");
    BOOST_TEST((r.action == mock::fault_action::truncate));
    BOOST_TEST(r.status == 201u);
    BOOST_TEST((mock::parse_fault("delay=5").action == mock::fault_action::none));
    BOOST_TEST((mock::parse_fault("stall").action == mock::fault_action::stall));
    BOOST_TEST((mock::parse_fault("close").action == mock::fault_action::close));
    for (auto bad : {"", "bogus", "status=abc", "status=99", "reset,close", "count=-1", "probability=2",
                     "probability=0", "route=nope", "retry_after=1", "reset=1", "delay", "status=503,retry_after=\"x"})
        BOOST_CHECK_THROW(mock::parse_fault(bad), std::invalid_argument);
}

// Fault statuses must be able to carry the body the mock sends: 200..599 except 204 and 304 (1xx would not
// even end the exchange). Checked when parsed and when a rule is added in code.
BOOST_AUTO_TEST_CASE(fault_status_range)
{
    for (unsigned ok : {200u, 201u, 205u, 299u, 302u, 400u, 429u, 503u, 599u}) {
        BOOST_TEST(mock::parse_fault("status=" + std::to_string(ok)).status == ok);
        BOOST_TEST(mock::parse_fault("malformed,status=" + std::to_string(ok)).status == ok);
    }
    for (auto bad : {"status=100", "status=101", "status=103", "status=199", "status=204", "status=304", "status=600",
                     "truncate,status=204", "stall,status=100", "malformed,status=304", "status=0"}) {
        try {
            mock::parse_fault(bad);
            BOOST_ERROR("accepted " << bad);
        } catch (const std::invalid_argument& e) {
            BOOST_TEST(std::string(e.what()).find("status") != std::string::npos, e.what());
        }
    }
    // Rules built in code: server::add_fault() and the server's constructor pass them to these.
    mock::fault_rule r;
    r.action = mock::fault_action::status;
    r.status = 204;
    driver d;
    BOOST_CHECK_THROW(d.e.add_fault(r), std::invalid_argument);
    r.status = 150;
    BOOST_CHECK_THROW(d.e.add_fault(r), std::invalid_argument);
    r.status = 0;  // 0 = the default 503
    d.e.add_fault(r);
    check_error(d.send("GET", "/x"), 503, "service_unavailable", "Injected fault");  // the only rule added
    auto p = keyed_params();
    r.status = 304;
    p.faults.push_back(r);
    BOOST_CHECK_THROW(mock::engine{p}, std::invalid_argument);
}

// A rule matches by route, method and decoded ids; skip lets its first matches through, count retires it.
BOOST_AUTO_TEST_CASE(what_a_rule_matches)
{
    driver d;
    BOOST_REQUIRE(d.post("app1", "u").status == 201u);
    BOOST_REQUIRE(d.post("a b", "u").status == 201u);
    d.e.add_fault(mock::parse_fault("status=503,app=a b,user=u,route=get_messages,method=GET,skip=1,count=2"));
    const auto mine = msgs_path("a b", "u");  // the rule names decoded ids
    std::vector<unsigned> st;
    st.push_back(d.send("GET", msgs_path("app1", "u")).status);  // other app
    st.push_back(d.send("GET", msgs_path("a b", "v")).status);   // other user (404: no conversation)
    st.push_back(d.post("a b", "u").status);                     // other route
    st.push_back(d.send("GET", mine + "?after=0").status);       // skipped: the first match
    st.push_back(d.send("GET", mine).status);                    // fires
    st.push_back(d.send("GET", "/v1.1/apps/a%20b/appusers/u/messages", {}, "").status);  // fires, before auth
    st.push_back(d.send("GET", mine).status);                                            // count reached: retired
    BOOST_TEST(st == (std::vector<unsigned>{200, 404, 201, 200, 503, 503, 200}), boost::test_tools::per_element());
    auto rec = d.e.snapshot();
    BOOST_TEST(rec.fault_count(mock::fault_action::status) == 2u);
    BOOST_TEST(rec.unauthorized == 0u);  // the faulted request without credentials never reached auth
    std::vector<bool> faulted;
    for (auto& q : rec.requests) faulted.push_back(q.faulted);
    BOOST_TEST(faulted == (std::vector<bool>{false, false, false, false, false, false, true, true, false}),
               boost::test_tools::per_element());
    BOOST_TEST((rec.requests[6].fault == mock::fault_action::status));
    BOOST_TEST(rec.requests[6].status == 503u);

    // route=unknown matches what is no route; the first rule that fires answers.
    driver u;
    u.e.add_fault(mock::parse_fault("status=502,route=unknown,count=1"));
    u.e.add_fault(mock::parse_fault("status=504"));
    check_error(u.send("GET", "/nowhere"), 502, "bad_gateway", "Injected fault");
    check_error(u.send("GET", "/nowhere"), 504, "gateway_timeout", "Injected fault");
    check_error(u.post("app1", "u"), 504, "gateway_timeout", "Injected fault");
    u.e.clear_faults();
    BOOST_TEST(u.post("app1", "u").status == 201u);
}

// probability draws from the RNG seeded by server_params::seed: the same seed, the same outcomes; requests the
// rule does not match draw nothing, so they cannot shift the sequence.
BOOST_AUTO_TEST_CASE(probability_is_seeded)
{
    auto run = [](std::uint64_t seed, bool interleave) {
        auto p = keyed_params();
        p.seed = seed;
        p.faults.push_back(mock::parse_fault("status=503,probability=0.3,app=app1"));
        driver d(p);
        std::string seq;
        for (int i = 0; i < 200; ++i) {
            if (interleave) BOOST_TEST(d.send("GET", "/v1.1/apps/app2/appusers/u/messages").status == 404u);
            auto st = d.send("GET", "/v1.1/apps/app1/appusers/u/messages").status;
            BOOST_TEST((st == 503u || st == 404u), st);
            seq += st == 503u ? 'F' : '.';
        }
        return seq;
    };
    auto a = run(42, false);
    BOOST_TEST(a == run(42, false));
    BOOST_TEST(a == run(42, true));
    BOOST_TEST(a != run(7, false));
    auto fired = std::count(a.begin(), a.end(), 'F');
    BOOST_TEST(fired > 30);
    BOOST_TEST(fired < 90);
}

// Faults are decided right after routing: before auth and the rate limit, and a fault that hides the request
// takes no token.
BOOST_AUTO_TEST_CASE(faults_come_before_auth_and_the_rate_limit)
{
    auto p = keyed_params();
    p.rate = mock::rate_limit{0.01, 1};
    driver d(p);
    d.e.add_fault(mock::parse_fault("status=503,retry_after=7,count=2"));
    auto r = d.post("app1", "u", "t", "");
    check_error(r, 503, "service_unavailable", "Injected fault");
    BOOST_TEST(r.retry_after == "7");
    check_error(d.post("app1", "u", "t", "Basic nonsense"), 503, "service_unavailable", "Injected fault");
    BOOST_TEST(d.post("app1", "u").status == 201u);  // the one token was still there
    check_error(d.post("app1", "u"), 429, "too_many_requests", "Rate limit exceeded for this app");
    auto rec = d.e.snapshot();
    BOOST_TEST(rec.unauthorized == 0u);
    BOOST_TEST(rec.rate_limited == 1u);
    BOOST_TEST(rec.fault_count(mock::fault_action::status) == 2u);

    // Admin requests are never faulted.
    auto q = keyed_params();
    q.admin = true;
    q.faults.push_back(mock::parse_fault("status=503"));
    driver admin(q);
    BOOST_TEST(admin.send("GET", "/_admin/record", {}, "").status == 200u);
    BOOST_TEST(admin.send("GET", "/x").status == 503u);
}

// Each action's answer, with and without apply: what the transport is told to do (fault, delay), the status
// and body it sends, whether the request was processed, and what the record says.
BOOST_AUTO_TEST_CASE(the_answer_of_each_action)
{
    using fa = mock::fault_action;
    {
        auto o = post_with("status=500,count=1");
        check_error(o.out, 500, "internal_error", "Injected fault");
        BOOST_TEST((o.out.fault == fa::status));
        BOOST_TEST(o.out.retry_after.empty());
        BOOST_TEST(o.stored == 0u);
        BOOST_TEST(!o.req.applied);
        BOOST_TEST(o.req.status == 500u);
        BOOST_TEST(o.req.faulted);
    }
    {
        auto o = post_with("status=429,retry_after=\"Wed, 21 Oct 2015 07:28:00 GMT\",apply");
        check_error(o.out, 429, "too_many_requests", "Injected fault");
        BOOST_TEST(o.out.retry_after == "Wed, 21 Oct 2015 07:28:00 GMT");
        BOOST_TEST(o.stored == 1u);
        BOOST_TEST(o.req.applied);
    }
    struct named {
        const char* spec;
        unsigned status;
        const char* code;
    };
    for (auto [spec, status, code] :
         {named{"status=503", 503, "service_unavailable"}, named{"status=418", 418, "injected_fault"},
          named{"status=504", 504, "gateway_timeout"}, named{"status=400", 400, "bad_request"}})
        BOOST_TEST_CONTEXT(spec) { check_error(post_with(spec).out, status, code, "Injected fault"); }
    {
        auto o = post_with("truncate");  // not applied: the success status, a body that says what it is
        check_error(o.out, 201, "injected_fault", "Injected fault: this body is cut short by the server");
        BOOST_TEST((o.out.fault == fa::truncate));
        BOOST_TEST(o.stored == 0u);
        BOOST_TEST(o.req.status == 201u);
        check_error(post_with("truncate,status=502").out, 502, "injected_fault",
                    "Injected fault: this body is cut short by the server");
        auto a = post_with("truncate,apply");  // applied: the real response, which the transport cuts
        BOOST_TEST(a.out.status == 201u);
        BOOST_TEST(body_of(a.out).at("message").at("text").as_string() == "t");
        BOOST_TEST(a.stored == 1u);
        BOOST_TEST(a.req.applied);
    }
    {
        auto o = post_with("malformed");
        BOOST_TEST(o.out.status == 201u);
        BOOST_TEST(!is_json(o.out.body), o.out.body);
        BOOST_TEST((o.out.fault == fa::malformed));
        BOOST_TEST(o.stored == 0u);
        BOOST_TEST(post_with("malformed,status=200").out.status == 200u);
        auto a = post_with("malformed,apply,status=502");  // applied: the real status, a broken body
        BOOST_TEST(a.out.status == 201u);
        BOOST_TEST(!is_json(a.out.body));
        BOOST_TEST(a.stored == 1u);
    }
    {
        auto o = post_with("stall");
        check_error(o.out, 201, "injected_fault", "Injected stall");
        BOOST_TEST((o.out.fault == fa::stall));
        BOOST_TEST(o.stored == 0u);
        auto a = post_with("stall,apply");
        BOOST_TEST(body_of(a.out).contains("message"));
        BOOST_TEST(a.stored == 1u);
    }
    {
        auto o = post_with("reset");
        BOOST_TEST((o.out.fault == fa::reset));
        BOOST_TEST(o.stored == 0u);
        BOOST_TEST(o.req.status == 0u);  // nothing is sent
        auto a = post_with("reset,apply");
        BOOST_TEST(a.stored == 1u);
        BOOST_TEST(a.req.status == 0u);
        BOOST_TEST(a.req.applied);
    }
    for (auto spec : {"close", "close,apply"}) {  // close always processes the request
        auto o = post_with(spec);
        BOOST_TEST(o.out.status == 201u);
        BOOST_TEST((o.out.fault == fa::close));
        BOOST_TEST(o.stored == 1u);
    }
    {
        auto o = post_with("delay=250");
        BOOST_TEST(o.out.status == 201u);
        BOOST_TEST((o.out.fault == fa::none));
        BOOST_TEST(o.out.delay.count() == 250);
        BOOST_TEST(o.stored == 1u);
        BOOST_TEST(o.req.faulted);
        BOOST_TEST(post_with("reset,delay=40").out.delay.count() == 40);
    }
    // The success status a broken answer pretends to have is the route's: 200 but for post_message.
    driver d;
    d.e.add_fault(mock::parse_fault("truncate,count=1"));
    check_error(d.send("GET", msgs_path("app1", "u")), 200, "injected_fault",
                "Injected fault: this body is cut short by the server");
}

BOOST_AUTO_TEST_SUITE_END()

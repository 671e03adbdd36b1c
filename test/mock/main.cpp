// SPDX-License-Identifier: BSL-1.0
// test_mock: smooch-mock over real TLS on loopback, one file per suite (tls_and_routes, auth,
// rate_limit_and_record, faults, hostile); shared helpers in wire.hpp. The program's tests are test_mock_program.
#define BOOST_TEST_MODULE smooch_mock
#include <boost/test/unit_test.hpp>

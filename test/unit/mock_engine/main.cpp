// SPDX-License-Identifier: BSL-1.0
// The test_mock_engine executable: smooch::mock::engine without sockets (engine_test.hpp).
#define BOOST_TEST_MODULE smooch_mock_engine
#include <boost/test/unit_test.hpp>

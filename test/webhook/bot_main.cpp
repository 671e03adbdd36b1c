// SPDX-License-Identifier: BSL-1.0
// The test_bot_server executable: the bot example against smooch-mock, end to end.
#define BOOST_TEST_MODULE smooch_bot_server
#include <boost/test/unit_test.hpp>

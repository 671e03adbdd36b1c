// SPDX-License-Identifier: BSL-1.0
// The test_webhook_delivery executable: smooch-mock's webhooks over the wire, in-process and as a program.
#define BOOST_TEST_MODULE smooch_webhook_delivery
#include <boost/test/unit_test.hpp>

// SPDX-License-Identifier: BSL-1.0
// The test_mock_webhooks executable: smooch-mock's webhook decisions, driven through engine::handle().
#define BOOST_TEST_MODULE smooch_mock_webhooks
#include <boost/test/unit_test.hpp>

// SPDX-License-Identifier: BSL-1.0
// The test_webhook executable: webhook payloads, the key check and de-duplication of <smooch/webhook.hpp>.
#define BOOST_TEST_MODULE smooch_webhook
#include <boost/test/unit_test.hpp>

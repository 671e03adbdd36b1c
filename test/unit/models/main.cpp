// SPDX-License-Identifier: BSL-1.0
// The test_models executable: JSON conversions, validation and cursors of <smooch/models.hpp>.
#define BOOST_TEST_MODULE smooch_models
#include <boost/test/unit_test.hpp>

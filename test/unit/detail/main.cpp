// SPDX-License-Identifier: BSL-1.0
// The test_detail executable: the shared codecs of src/detail.
#define BOOST_TEST_MODULE smooch_detail
#include <boost/test/unit_test.hpp>

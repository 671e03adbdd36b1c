// SPDX-License-Identifier: BSL-1.0
// Built by test/consumer/run.cmake with `c++ pkgconfig_main.cpp $(pkg-config --cflags --libs smooch)` and nothing
// else: the installed headers, the library and its dependencies are all the .pc file names.
#include <smooch/json.hpp>
#include <smooch/version.hpp>

#include <cstring>
#include <iostream>

int main()
{
    if (std::strcmp(smooch::version(), SMOOCH_VERSION_STRING) != 0) {
        std::cerr << "pkg-config consumer FAILED: library " << smooch::version() << ", header " << SMOOCH_VERSION_STRING
                  << "\n";
        return 1;
    }
    smooch::message_post m{.role = smooch::role::app_maker, .type = smooch::message_type::text, .text = "hi"};
    if (!(smooch::parse<smooch::message_post>(smooch::serialize(m)) == m)) {
        std::cerr << "pkg-config consumer FAILED: model round trip\n";
        return 1;
    }
    std::cout << "pkg-config consumer OK with smooch " << smooch::version() << "\n";
    return 0;
}

// Builds against an installed smooch: a model round trip through the public API.
#include <smooch/json.hpp>
#include <smooch/version.hpp>

#include <iostream>

int main()
{
    smooch::message_post m{.role = smooch::role::app_maker, .type = smooch::message_type::text, .text = "hi"};
    auto back = smooch::parse<smooch::message_post>(smooch::serialize(m));
    if (!(back == m)) return 1;
    std::cout << "consumer OK with smooch " << smooch::version() << ": " << smooch::serialize(m) << "\n";
    return 0;
}

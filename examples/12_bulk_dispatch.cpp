// SPDX-License-Identifier: BSL-1.0
// Lesson 12: dispatch a small campaign through the library (smooch::dispatch): each line is delivered once, the
// journal survives a crash, and running this program again resumes instead of sending twice.
#include "example_env.hpp"

#include <smooch/dispatch.hpp>

#include <filesystem>
#include <iostream>
#include <vector>

namespace asio = boost::asio;

asio::awaitable<void> run(smooch::client& client)
{
    // A campaign from a C++ range: five users, one message each. A service could feed callback_source() instead,
    // and smooch-dispatch reads a JSON-lines file with open_campaign_file().
    std::vector<smooch::dispatch::campaign_line> lines;
    for (int i = 1; i <= 5; ++i) {
        smooch::dispatch::campaign_line l;
        l.user = "campaign-user-" + std::to_string(i);
        l.message.text = "Spring sale, message " + std::to_string(i);
        lines.push_back(std::move(l));
    }
    auto source = smooch::dispatch::range_source("example-campaign-v1", lines);  // the id names this campaign

    smooch::dispatch::dispatch_params p;
    p.journal = (std::filesystem::temp_directory_path() / "smooch-example-campaign.journal").string();
    p.default_app = example::app_id();
    p.on_line = [](const smooch::dispatch::line_event& e) {
        std::cout << "line " << e.line << " " << smooch::dispatch::to_string(e.state) << " " << e.message_id
                  << (e.description.empty() ? "" : " " + e.description) << "\n";
    };
    smooch::dispatch::dispatcher d{client, p};
    smooch::dispatch::run_summary s = co_await d.run(*source);
    std::cout << smooch::dispatch::to_string(s.end) << ": " << s.counters.delivered << " delivered, "
              << s.counters.failed << " failed, " << s.counters.rejected << " rejected (" << s.counters.done_before
              << " had ended in an earlier run); journal " << p.journal << "\n";
    if (s.end != smooch::dispatch::run_end::completed) throw std::runtime_error(s.reason);
    std::filesystem::remove(p.journal);  // a real campaign keeps it: it is what makes a rerun safe
    std::filesystem::remove(p.journal + "-wal");
    std::filesystem::remove(p.journal + "-shm");
    std::filesystem::remove(p.journal + ".lock");
}

int main() { return example::run(run); }

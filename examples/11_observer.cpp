// SPDX-License-Identifier: BSL-1.0
// Lesson 11: an observer sees every attempt (and every wait at an app's gate) without a logging dependency:
// here, one JSON line per attempt on stderr. It runs on the request path, on the call's executor, possibly on
// several threads at once: keep it quick, thread-safe, and never throwing.
#include "example_env.hpp"

#include <smooch/conversation_api.hpp>

#include <cstdio>
#include <iostream>
#include <mutex>

namespace asio = boost::asio;

class json_lines final : public smooch::observer {
public:
    void on_attempt(const smooch::attempt_event& e) override
    {
        static constexpr const char* next[] = {"succeed", "replay", "retry", "stop"};
        std::lock_guard lk(mu_);  // lines from several threads must not interleave
        std::fprintf(stderr,
                     "{\"event\":\"attempt\",\"operation\":\"%.*s\",\"app\":\"%.*s\",\"attempt\":%u,\"status\":%u,"
                     "\"error\":\"%s\",\"duration_us\":%lld,\"reused\":%s,\"next\":\"%s\",\"delay_ms\":%lld}\n",
                     static_cast<int>(e.operation.size()), e.operation.data(), static_cast<int>(e.app_id.size()),
                     e.app_id.data(), e.attempt, e.status, e.ec ? e.ec.message().c_str() : "",
                     static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(e.duration).count()),
                     e.reused ? "true" : "false", next[static_cast<int>(e.next)],
                     static_cast<long long>(e.delay.count()));
    }
    void on_gate_wait(const smooch::gate_wait_event& e) override
    {
        std::lock_guard lk(mu_);
        std::fprintf(stderr, "{\"event\":\"gate_wait\",\"app\":\"%.*s\",\"waited_us\":%lld,\"cancelled\":%s}\n",
                     static_cast<int>(e.app_id.size()), e.app_id.data(),
                     static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(e.waited).count()),
                     e.cancelled ? "true" : "false");
    }

private:
    std::mutex mu_;
};

int main()
{
    boost::asio::io_context io;
    auto p = example::params_from_env();
    p.observer = std::make_shared<json_lines>();
    smooch::client client{io.get_executor(), p};
    int status = 1;
    boost::asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            smooch::conversation_api api{client};
            smooch::message_post msg;
            msg.text = "observed";
            co_await api.post_message(example::app_id(), "observed-user", msg);
            co_await api.get_messages(example::app_id(), "observed-user");
            std::cout << "two calls, two attempt lines on stderr\n";
            status = 0;
        },
        [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
    io.run();
    return status;
}

// SPDX-License-Identifier: BSL-1.0
#pragma once
// Group commit: the journal's own thread takes every op queued since its last transaction (up to batch_max) and
// commits them together, then posts the outcomes back to the run's executor. While one transaction is on its way
// to disk the next batch gathers, so the journal never makes the fan-out wait for one fsync per line.
// An op may come with a `prepare` step that the journal's thread runs just before writing it (the dispatcher parses
// campaign lines there): work taken off the run's thread, which is the one that bounds a CPU-bound fan-out.

#include "dispatch/journal.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace smooch::dispatch::detail {

/// One op's fate, delivered on the run's executor. `error` set: the op's transaction failed (the journal is no
/// longer writable; every later op fails the same way).
struct committed {
    std::uint64_t tag = 0;
    journal_op::kind_t kind = journal_op::result;
    op_outcome outcome;
    bool failed = false;
};

class group_committer {
public:
    /// `done(batch, error)` runs on `ex` after each transaction, in order. error: the journal_error's text.
    using completion = std::function<void(std::vector<committed>&, const std::string* error)>;

    /// A transaction starts when batch_max ops are queued, or `latency` after the first op of the batch was queued.
    group_committer(journal& j, boost::asio::any_io_executor ex, std::size_t batch_max,
                    std::chrono::microseconds latency, completion done);
    ~group_committer();  ///< close()
    group_committer(const group_committer&) = delete;
    group_committer& operator=(const group_committer&) = delete;

    /// Runs on the journal's thread before the op is written, and may rewrite it. If it throws, the batch fails
    /// as if its transaction had.
    using prepare_fn = std::function<void(journal_op&)>;

    /// Queues an op (any thread). Its outcome comes back through `done` with `tag` (and the op's kind after
    /// `prepare`).
    void submit(journal_op op, std::uint64_t tag, prepare_fn prepare = {});
    /// Commits what is queued, then stops the thread. Idempotent.
    void close();
    std::uint64_t commits() const;
    /// CPU time its thread used (user + system); complete once close() returned.
    std::chrono::microseconds cpu() const;

private:
    void loop();

    journal& journal_;
    boost::asio::any_io_executor ex_;
    std::size_t batch_max_;
    std::chrono::microseconds latency_;
    std::chrono::steady_clock::time_point first_queued_;
    completion done_;
    mutable std::mutex m_;
    std::condition_variable cv_;
    std::vector<journal_op> queue_;
    std::vector<std::uint64_t> tags_;
    std::vector<prepare_fn> prepares_;  // parallel to queue_ (most are empty)
    bool closing_ = false;
    std::optional<std::string> error_;
    std::uint64_t commits_ = 0;
    std::chrono::microseconds cpu_{0};
    std::thread thread_;
};

}  // namespace smooch::dispatch::detail

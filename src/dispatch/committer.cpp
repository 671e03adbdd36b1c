// SPDX-License-Identifier: BSL-1.0
#include "dispatch/committer.hpp"

#include <boost/asio/post.hpp>

#include <sys/resource.h>

#include <memory>

namespace smooch::dispatch::detail {

group_committer::group_committer(journal& j, boost::asio::any_io_executor ex, std::size_t batch_max,
                                 std::chrono::microseconds latency, completion done)
    : journal_(j), ex_(std::move(ex)), batch_max_(batch_max ? batch_max : 1), latency_(latency), done_(std::move(done)),
      thread_([this] { loop(); })
{}

group_committer::~group_committer() { close(); }

void group_committer::submit(journal_op op, std::uint64_t tag, prepare_fn prepare)
{
    bool wake = false;
    {
        std::lock_guard lk(m_);
        if (queue_.empty()) first_queued_ = std::chrono::steady_clock::now();
        queue_.push_back(std::move(op));
        tags_.push_back(tag);
        prepares_.push_back(std::move(prepare));
        // The committer sleeps until the first op, then until the batch is full or old enough: wake it only then.
        wake = queue_.size() == 1 || queue_.size() == batch_max_;
    }
    if (wake) cv_.notify_one();
}

void group_committer::close()
{
    {
        std::lock_guard lk(m_);
        if (closing_ && !thread_.joinable()) return;
        closing_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
}

std::uint64_t group_committer::commits() const
{
    std::lock_guard lk(m_);
    return commits_;
}

std::chrono::microseconds group_committer::cpu() const
{
    std::lock_guard lk(m_);
    return cpu_;
}

void group_committer::loop()
{
    std::vector<journal_op> batch;
    std::vector<std::uint64_t> tags;
    std::vector<prepare_fn> prepares;
    std::vector<op_outcome> outcomes;
    for (;;) {
        std::optional<std::string> error;
        {
            std::unique_lock lk(m_);
            cv_.wait(lk, [&] { return !queue_.empty() || closing_; });
            if (queue_.empty()) {  // closing, and everything is committed
                rusage ru{};
                ::getrusage(RUSAGE_THREAD, &ru);
                auto us = [](const timeval& t) { return std::int64_t{t.tv_sec} * 1000000 + t.tv_usec; };
                cpu_ = std::chrono::microseconds(us(ru.ru_utime) + us(ru.ru_stime));
                return;
            }
            // Gather: one fsync for every op that arrives within `latency` of the first (bounded by batch_max).
            cv_.wait_until(lk, first_queued_ + latency_, [&] { return queue_.size() >= batch_max_ || closing_; });
            const std::size_t n = std::min(queue_.size(), batch_max_);
            if (n == queue_.size()) {
                batch.clear();
                tags.clear();
                prepares.clear();
                batch.swap(queue_);
                tags.swap(tags_);
                prepares.swap(prepares_);
            } else {
                const auto end = static_cast<std::ptrdiff_t>(n);
                batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + end));
                tags.assign(tags_.begin(), tags_.begin() + end);
                prepares.assign(std::make_move_iterator(prepares_.begin()),
                                std::make_move_iterator(prepares_.begin() + end));
                queue_.erase(queue_.begin(), queue_.begin() + end);
                tags_.erase(tags_.begin(), tags_.begin() + end);
                prepares_.erase(prepares_.begin(), prepares_.begin() + end);
                first_queued_ = std::chrono::steady_clock::now();
            }
            error = error_;
        }
        if (!error) {
            try {
                for (std::size_t i = 0; i < batch.size(); ++i)
                    if (prepares[i]) prepares[i](batch[i]);  // (bad_alloc at worst: then like a failed write)
                journal_.apply(batch, outcomes);             // the fsync happens here, outside the lock
            } catch (const std::exception& e) {
                error = e.what();
                std::lock_guard lk(m_);
                error_ = error;  // the journal is not writable any more: every later op fails alike
            }
        }
        auto out = std::make_shared<std::vector<committed>>(batch.size());
        for (std::size_t i = 0; i < batch.size(); ++i) {
            (*out)[i].tag = tags[i];
            (*out)[i].kind = batch[i].kind;
            if (error) (*out)[i].failed = true;
            else (*out)[i].outcome = outcomes[i];
        }
        {
            std::lock_guard lk(m_);
            if (!error) ++commits_;
        }
        auto err = error ? std::make_shared<std::string>(*error) : nullptr;
        boost::asio::post(ex_, [this, out, err] { done_(*out, err.get()); });
    }
}

}  // namespace smooch::dispatch::detail

// SPDX-License-Identifier: BSL-1.0
#pragma once
// The journal: one SQLite file per campaign (WAL mode), the only state that survives a crash. Used from one thread
// at a time (the run's thread before and after the run, the committer's thread during it). Schema and state machine:
// docs/dispatch.md.

#include <smooch/dispatch.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace smooch::dispatch::detail {

/// A journal write failed mid-run (disk full, I/O error): the transaction was rolled back.
class journal_error : public dispatch_error {
public:
    journal_error(std::string what, int sqlite_code) : dispatch_error(std::move(what)), code_(sqlite_code) {}
    int sqlite_code() const noexcept { return code_; }

private:
    int code_;
};

/// One write of the journal. Intents make a line `sending` (recording its intent time); results record an outcome.
struct journal_op {
    enum kind_t : std::uint8_t { intent_new, intent_again, result };
    kind_t kind = result;
    std::uint64_t line = 0;
    line_state state = line_state::sending;  ///< result: the new state.
    std::int64_t time_ms = 0;                ///< Unix ms: the intent time, or when the result was known.
    std::string app, user, key;              ///< intent_new (app/user also for a rejected result).
    bool key_derived = false;                ///< intent_new: the key is default_key(campaign, line), not stored.
    std::string message_id;                  ///< delivered
    bool reconciled = false;                 ///< delivered by reading back
    unsigned status = 0;                     ///< failed
    std::string api_code, description;       ///< failed / rejected
};

/// What became of one op. An intent_new whose key another line already uses is not written (conflict_line set).
struct op_outcome {
    bool ok = true;
    std::uint64_t conflict_line = 0;
};

/// A line a previous run left possibly sent (state sending or unknown).
struct unsettled_line {
    std::uint64_t line = 0;
    std::string app, user, key;
    std::int64_t intent_ms = 0;
    unsigned sends = 0;
    bool applied = false;  ///< The server had answered 2xx: delivered even if reading back does not show it.
};

/// A failed or rejected line, for --failures.
struct ended_badly {
    std::uint64_t line = 0;
    line_state state = line_state::failed;
    unsigned status = 0;
    std::string api_code, description;
};

/// Wall-clock Unix milliseconds: intent times are compared with the server's `received`.
inline std::int64_t unix_now_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// Marker in the state vector for a line the journal does not hold (never reached).
inline constexpr std::uint8_t absent = 0xff;

struct journal_open_params {
    std::string path;
    std::string campaign_id, campaign_name;
    std::uint64_t total = 0;
    journal_sync synchronous = journal_sync::full;
    std::uint64_t max_pages = 0;
};

class journal {
public:
    /// Creates or opens the journal for a run: takes the run lock, checks the campaign id. Throws dispatch_error
    /// with an operator's sentence (another campaign, in use, read-only, not a journal).
    explicit journal(const journal_open_params& p);
    ~journal();
    journal(const journal&) = delete;
    journal& operator=(const journal&) = delete;

    /// The state of every line the journal holds, indexed by line number (`absent` for lines it does not hold).
    std::vector<std::uint8_t> load_states();
    std::vector<unsettled_line> load_unsettled();
    /// Every op in one transaction (all or nothing). Throws journal_error; the transaction is then rolled back.
    void apply(std::span<const journal_op> ops, std::vector<op_outcome>& out);
    /// Failed and rejected lines in line order.
    void for_each_ended_badly(const std::function<void(const ended_badly&)>& f);
    const std::string& path() const noexcept { return path_; }

private:
    void close() noexcept;
    void exec(const char* sql);
    sqlite3_stmt* prepare(const char* sql);
    void step_once(sqlite3_stmt* s);  ///< Runs a statement without results; throws journal_error.
    [[noreturn]] void fail(const std::string& doing, int rc);

    std::string path_, campaign_id_;
    sqlite3* db_ = nullptr;
    int lock_fd_ = -1;
    sqlite3_stmt* ins_intent_ = nullptr;
    sqlite3_stmt* upd_intent_ = nullptr;
    sqlite3_stmt* upd_result_ = nullptr;
    sqlite3_stmt* ins_result_ = nullptr;
    sqlite3_stmt* find_key_ = nullptr;
    sqlite3_stmt* begin_ = nullptr;
    sqlite3_stmt* commit_ = nullptr;
    sqlite3_stmt* rollback_ = nullptr;
};

/// Read-only view used by `status` (works while a run holds the journal) and write_failures.
journal_status read_status(const std::string& path);
void for_each_ended_badly(const std::string& path, const std::function<void(const ended_badly&)>& f);

}  // namespace smooch::dispatch::detail

// SPDX-License-Identifier: BSL-1.0
// The journal over SQLite. WAL mode, so `status` reads while a run writes; `synchronous` as the run asks (FULL by
// default: a commit is on disk before the intent counts, see docs/dispatch.md "Durability"). One writer: the run
// holds an flock on "<journal>.lock" for its whole life (SQLite's own locks last one transaction only).

#include "dispatch/journal.hpp"

#include "dispatch/campaign.hpp"

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace smooch::dispatch::detail {

namespace {

constexpr int schema_version = 1;

// The schema. `line_states` is for people with the sqlite3 CLI: the same rows with state names.
constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lines(
  line        INTEGER PRIMARY KEY,
  state       INTEGER NOT NULL,
  app         TEXT NOT NULL,
  user        TEXT NOT NULL,
  key         TEXT,
  intent_ms   INTEGER,
  sends       INTEGER NOT NULL DEFAULT 0,
  message_id  TEXT,
  reconciled  INTEGER NOT NULL DEFAULT 0,
  status      INTEGER,
  api_code    TEXT,
  description TEXT,
  updated_ms  INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS lines_key ON lines(key) WHERE key IS NOT NULL;
CREATE VIEW IF NOT EXISTS line_states AS
  SELECT line, CASE state WHEN 0 THEN 'pending' WHEN 1 THEN 'sending' WHEN 2 THEN 'unknown' WHEN 3 THEN 'delivered'
                          WHEN 4 THEN 'failed' WHEN 5 THEN 'rejected' END AS state,
         app, user, CASE WHEN state = 5 THEN key
                         ELSE coalesce(key, substr((SELECT value FROM meta WHERE name = 'campaign_id'), 1, 16) || '-' || line)
                    END AS key, datetime(intent_ms / 1000, 'unixepoch') AS intent, sends, message_id, reconciled, status,
         api_code, description
  FROM lines;
)sql";

std::string lock_path(const std::string& path) { return path + ".lock"; }

std::string explain(const std::string& path, int rc, const char* sqlite_msg)
{
    const int primary = rc & 0xff;
    std::string m = "journal " + path + ": ";
    switch (primary) {
    case SQLITE_FULL:
        return m + "the disk is full (" + sqlite_msg +
               "). The run stopped; no post was sent without its intent recorded. Free space and run again to resume.";
    case SQLITE_READONLY: return m + "read-only (" + sqlite_msg + "): a run must write its journal.";
    case SQLITE_NOTADB: return m + "not a dispatch journal (" + std::string(sqlite_msg) + ").";
    case SQLITE_CANTOPEN: return m + "cannot open it (" + std::string(sqlite_msg) + ").";
    case SQLITE_IOERR:
        return m + "I/O error (" + sqlite_msg + "). The run stopped; run again to resume once the disk is fixed.";
    default: return m + sqlite_msg;
    }
}

struct stmt_guard {
    sqlite3_stmt* s;
    ~stmt_guard() { sqlite3_finalize(s); }
};

std::string column_text(sqlite3_stmt* s, int i)
{
    const auto* p = sqlite3_column_text(s, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
             : std::string();
}

void bind_text(sqlite3_stmt* s, int i, const std::string& v)
{
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

std::string meta_value(sqlite3* db, const char* name)
{
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE name = ?1", -1, &s, nullptr) != SQLITE_OK) return {};
    stmt_guard g{s};
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    return sqlite3_step(s) == SQLITE_ROW ? column_text(s, 0) : std::string();
}

void check_writable(const std::string& path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return;  // created below
    // By the mode bits, not access(): root may write anything, but a journal someone made read-only is a decision.
    if ((st.st_mode & 0222) == 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
        throw dispatch_error("journal " + path + ": read-only (mode " + mode +
                             "): a run must write its journal. Restore write permission, or use a copy.");
    }
}

/// Opens for reading only, for status and failures. `starting_ok`: a run holds the journal, so a journal whose
/// campaign is not recorded yet is one being created (the run is still reading its campaign file).
sqlite3* open_read_only(const std::string& path, bool starting_ok = false)
{
    if (::access(path.c_str(), F_OK) != 0) throw dispatch_error("no journal at " + path);
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string m = explain(path, rc, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        throw dispatch_error(m);
    }
    sqlite3_busy_timeout(db, 5000);
    if (meta_value(db, "campaign_id").empty() && !starting_ok) {
        sqlite3_close(db);
        throw dispatch_error("journal " + path + ": not a dispatch journal (no campaign recorded in it)");
    }
    return db;
}

void read_ended_badly(sqlite3* db, const std::function<void(const ended_badly&)>& f)
{
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db,
                       "SELECT line, state, status, api_code, description FROM lines WHERE state IN (4, 5) ORDER BY "
                       "line",
                       -1, &s, nullptr);
    stmt_guard g{s};
    while (sqlite3_step(s) == SQLITE_ROW) {
        ended_badly e;
        e.line = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
        e.state = static_cast<line_state>(sqlite3_column_int(s, 1));
        e.status = static_cast<unsigned>(sqlite3_column_int(s, 2));
        e.api_code = column_text(s, 3);
        e.description = column_text(s, 4);
        f(e);
    }
}

}  // namespace

journal::journal(const journal_open_params& p) : path_(p.path), campaign_id_(p.campaign_id)
{
    if (path_.empty()) throw dispatch_error("no journal given");
    check_writable(path_);
    // The run lock first: a second run must refuse before it touches anything.
    lock_fd_ = ::open(lock_path(path_).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0)
        throw dispatch_error("journal " + path_ + ": cannot create its lock file " + lock_path(path_) + ": " +
                             std::strerror(errno));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        char buf[32] = {};
        const auto n = ::pread(lock_fd_, buf, sizeof buf - 1, 0);
        ::close(lock_fd_);
        lock_fd_ = -1;
        throw dispatch_error("journal " + path_ + " is in use by another run" +
                             (n > 0 ? " (pid " + std::string(buf, static_cast<std::size_t>(n)) + ")" : std::string()) +
                             ": one run per journal. Wait for it, or stop it first.");
    }
    const std::string pid = std::to_string(::getpid());
    if (::ftruncate(lock_fd_, 0) == 0 && ::pwrite(lock_fd_, pid.data(), pid.size(), 0) < 0) {
        // The pid is only for the message of a second run; the lock itself is what counts.
    }

    try {
        int rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
        if (rc != SQLITE_OK) fail("open", rc);
        sqlite3_extended_result_codes(db_, 1);
        sqlite3_busy_timeout(db_, 5000);
        exec("PRAGMA journal_mode = WAL");
        exec(p.synchronous == journal_sync::full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
        exec("BEGIN IMMEDIATE");
        exec(schema_sql);
        const std::string existing = meta_value(db_, "campaign_id");
        if (existing.empty()) {
            sqlite3_stmt* s = prepare("INSERT INTO meta(name, value) VALUES (?1, ?2)");
            stmt_guard g{s};
            auto put = [&](const char* k, const std::string& v) {
                sqlite3_reset(s);
                sqlite3_bind_text(s, 1, k, -1, SQLITE_STATIC);
                bind_text(s, 2, v);
                if (const int r = sqlite3_step(s); r != SQLITE_DONE) fail("create", r);
            };
            put("schema_version", std::to_string(schema_version));
            put("campaign_id", p.campaign_id);
            put("campaign_name", p.campaign_name);
            put("total", std::to_string(p.total));
            put("created_ms", std::to_string(unix_now_ms()));
        } else if (existing != p.campaign_id) {
            const std::string name = meta_value(db_, "campaign_name");
            exec("ROLLBACK");
            throw dispatch_error("journal " + path_ + " belongs to another campaign: it was created for " + name +
                                 " (sha256 " + existing.substr(0, 16) + "...), not " + p.campaign_name + " (sha256 " +
                                 p.campaign_id.substr(0, 16) +
                                 "...). Resume with the original file, or start this campaign with a new journal.");
        } else if (meta_value(db_, "schema_version") != std::to_string(schema_version)) {
            exec("ROLLBACK");
            throw dispatch_error("journal " + path_ + ": schema version " + meta_value(db_, "schema_version") +
                                 " is not " + std::to_string(schema_version));
        }
        exec("COMMIT");
        if (p.max_pages) exec(("PRAGMA max_page_count = " + std::to_string(p.max_pages)).c_str());
        ins_intent_ = prepare("INSERT INTO lines(line, state, app, user, key, intent_ms, sends, updated_ms) "
                              "VALUES (?1, 1, ?2, ?3, ?4, ?5, 1, ?5) ON CONFLICT DO NOTHING");
        upd_intent_ = prepare("UPDATE lines SET state = 1, intent_ms = ?2, sends = sends + 1, updated_ms = ?2 "
                              "WHERE line = ?1");
        upd_result_ = prepare("UPDATE lines SET state = ?2, message_id = ?3, reconciled = ?4, status = ?5, "
                              "api_code = ?6, description = ?7, updated_ms = ?8 WHERE line = ?1");
        ins_result_ = prepare("INSERT INTO lines(line, state, app, user, description, updated_ms) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(line) DO UPDATE SET state = excluded.state, "
                              "description = excluded.description, updated_ms = excluded.updated_ms");
        find_key_ = prepare("SELECT line FROM lines WHERE key = ?1");
        // Prepared once: sqlite3_exec would compile them again for every batch.
        begin_ = prepare("BEGIN IMMEDIATE");
        commit_ = prepare("COMMIT");
        rollback_ = prepare("ROLLBACK");
    } catch (...) {
        close();
        throw;
    }
}

journal::~journal() { close(); }

void journal::close() noexcept
{
    for (auto* s : {ins_intent_, upd_intent_, upd_result_, ins_result_, find_key_, begin_, commit_, rollback_})
        sqlite3_finalize(s);
    ins_intent_ = upd_intent_ = upd_result_ = ins_result_ = find_key_ = begin_ = commit_ = rollback_ = nullptr;
    if (db_) sqlite3_close(db_);
    db_ = nullptr;
    if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
    lock_fd_ = -1;
}

void journal::fail(const std::string& doing, int rc)
{
    (void)doing;
    throw journal_error(explain(path_, rc, db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)), rc);
}

void journal::exec(const char* sql)
{
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    sqlite3_free(err);
    if (rc != SQLITE_OK) fail(sql, rc);
}

void journal::step_once(sqlite3_stmt* s)
{
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) fail("write", rc);
}

sqlite3_stmt* journal::prepare(const char* sql)
{
    sqlite3_stmt* s = nullptr;
    if (const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr); rc != SQLITE_OK)
        fail("prepare", rc);
    return s;
}

std::vector<std::uint8_t> journal::load_states()
{
    std::vector<std::uint8_t> states;
    sqlite3_stmt* s = prepare("SELECT line, state FROM lines");
    stmt_guard g{s};
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const auto line = static_cast<std::size_t>(sqlite3_column_int64(s, 0));
        if (line >= states.size()) states.resize(line + 1, absent);
        states[line] = static_cast<std::uint8_t>(sqlite3_column_int(s, 1));
    }
    if (rc != SQLITE_DONE) fail("read", rc);
    return states;
}

std::vector<unsettled_line> journal::load_unsettled()
{
    std::vector<unsettled_line> out;
    sqlite3_stmt* s = prepare("SELECT line, app, user, key, intent_ms, sends, status FROM lines WHERE state IN (1, 2) "
                              "ORDER BY line");
    stmt_guard g{s};
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        unsettled_line u;
        u.line = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
        u.app = column_text(s, 1);
        u.user = column_text(s, 2);
        u.key = sqlite3_column_type(s, 3) == SQLITE_NULL ? default_key(campaign_id_, u.line) : column_text(s, 3);
        u.intent_ms = sqlite3_column_int64(s, 4);
        u.sends = static_cast<unsigned>(sqlite3_column_int(s, 5));
        const int status = sqlite3_column_int(s, 6);
        u.applied = status >= 200 && status < 300;
        out.push_back(std::move(u));
    }
    if (rc != SQLITE_DONE) fail("read", rc);
    return out;
}

void journal::apply(std::span<const journal_op> ops, std::vector<op_outcome>& out)
{
    out.assign(ops.size(), op_outcome{});
    step_once(begin_);
    try {
        for (std::size_t i = 0; i < ops.size(); ++i) {
            const journal_op& op = ops[i];
            const auto line = static_cast<sqlite3_int64>(op.line);
            sqlite3_stmt* s = nullptr;
            switch (op.kind) {
            case journal_op::intent_new:
                s = ins_intent_;
                sqlite3_bind_int64(s, 1, line);
                bind_text(s, 2, op.app);
                bind_text(s, 3, op.user);
                // A derived key is not stored (it is the campaign id and the line number): no index entry to keep.
                if (op.key_derived) sqlite3_bind_null(s, 4);
                else bind_text(s, 4, op.key);
                sqlite3_bind_int64(s, 5, op.time_ms);
                break;
            case journal_op::intent_again:
                s = upd_intent_;
                sqlite3_bind_int64(s, 1, line);
                sqlite3_bind_int64(s, 2, op.time_ms);
                break;
            case journal_op::result:
                if (op.state == line_state::rejected) {
                    s = ins_result_;
                    sqlite3_bind_int64(s, 1, line);
                    sqlite3_bind_int(s, 2, static_cast<int>(op.state));
                    bind_text(s, 3, op.app);
                    bind_text(s, 4, op.user);
                    bind_text(s, 5, op.description);
                    sqlite3_bind_int64(s, 6, op.time_ms);
                    break;
                }
                s = upd_result_;
                sqlite3_bind_int64(s, 1, line);
                sqlite3_bind_int(s, 2, static_cast<int>(op.state));
                if (op.message_id.empty()) sqlite3_bind_null(s, 3);
                else bind_text(s, 3, op.message_id);
                sqlite3_bind_int(s, 4, op.reconciled ? 1 : 0);
                if (op.state == line_state::failed || op.status) {
                    sqlite3_bind_int(s, 5, static_cast<int>(op.status));
                    bind_text(s, 6, op.api_code);
                    bind_text(s, 7, op.description);
                } else {
                    for (int c : {5, 6, 7}) sqlite3_bind_null(s, c);
                }
                sqlite3_bind_int64(s, 8, op.time_ms);
                break;
            }
            const int rc = sqlite3_step(s);
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            if (rc != SQLITE_DONE) fail("write", rc);
            if (op.kind == journal_op::intent_new && !op.key_derived && sqlite3_changes(db_) == 0) {
                // The key is another line's: sending would make reading back ambiguous.
                out[i].ok = false;
                bind_text(find_key_, 1, op.key);
                if (sqlite3_step(find_key_) == SQLITE_ROW)
                    out[i].conflict_line = static_cast<std::uint64_t>(sqlite3_column_int64(find_key_, 0));
                sqlite3_reset(find_key_);
                sqlite3_clear_bindings(find_key_);
            }
        }
        step_once(commit_);
    } catch (...) {
        if (!sqlite3_get_autocommit(db_)) {  // still in the transaction (a failed COMMIT may have ended it)
            sqlite3_step(rollback_);
            sqlite3_reset(rollback_);
        }
        throw;
    }
}

void journal::for_each_ended_badly(const std::function<void(const ended_badly&)>& f) { read_ended_badly(db_, f); }

journal_status read_status(const std::string& path)
{
    journal_status st;
    // The lock first: a run that holds it may not have recorded its campaign yet.
    const int fd = ::open(lock_path(path).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
            st.running = true;
            char buf[32] = {};
            if (::pread(fd, buf, sizeof buf - 1, 0) > 0) st.running_pid = std::strtol(buf, nullptr, 10);
        }
        ::close(fd);
    }
    if (st.running && ::access(path.c_str(), F_OK) != 0) return st;  // not created yet
    sqlite3* db = open_read_only(path, st.running);
    struct closer {
        sqlite3* d;
        ~closer() { sqlite3_close(d); }
    } c{db};
    st.campaign_id = meta_value(db, "campaign_id");
    st.campaign_name = meta_value(db, "campaign_name");
    st.total = std::strtoull(meta_value(db, "total").c_str(), nullptr, 10);
    st.created_ms = std::strtoll(meta_value(db, "created_ms").c_str(), nullptr, 10);
    if (st.campaign_id.empty()) return st;  // being created: nothing to count yet
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT state, count(*), max(updated_ms) FROM lines GROUP BY state", -1, &s, nullptr);
    stmt_guard g{s};
    std::uint64_t held = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const auto n = static_cast<std::uint64_t>(sqlite3_column_int64(s, 1));
        held += n;
        st.updated_ms = std::max<std::int64_t>(st.updated_ms, sqlite3_column_int64(s, 2));
        switch (static_cast<line_state>(sqlite3_column_int(s, 0))) {
        case line_state::pending: st.pending = n; break;
        case line_state::sending: st.sending = n; break;
        case line_state::unknown: st.unknown = n; break;
        case line_state::delivered: st.delivered = n; break;
        case line_state::failed: st.failed = n; break;
        case line_state::rejected: st.rejected = n; break;
        }
    }
    st.not_started = st.total > held ? st.total - held : 0;
    return st;
}

void for_each_ended_badly(const std::string& path, const std::function<void(const ended_badly&)>& f)
{
    sqlite3* db = open_read_only(path);
    read_ended_badly(db, f);
    sqlite3_close(db);
}

}  // namespace smooch::dispatch::detail

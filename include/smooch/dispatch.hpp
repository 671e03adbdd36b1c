// SPDX-License-Identifier: BSL-1.0
#pragma once
// smooch::dispatch: bulk dispatch of a campaign (one message per line) that delivers each line once, survives a
// crash at any moment and resumes where it stopped. The journal (SQLite, WAL) is the only state that survives.
//
//     smooch::client client{io.get_executor(), params};
//     smooch::dispatch::dispatch_params dp;
//     dp.journal = "campaign.journal";
//     dp.default_app = "app_1";
//     smooch::dispatch::dispatcher d{client, dp};
//     auto src = smooch::dispatch::open_campaign_file("campaign.jsonl");
//     co_spawn(io, [&]() -> awaitable<void> { auto s = co_await d.run(*src); ... }, detached);
//
// Every line ends in exactly one of delivered (with the server's `_id`), failed (a permanent error, with status,
// API code and description) or rejected (the line itself is invalid). The guarantee, its one residual window, the
// state machine and the journal's schema are in docs/dispatch.md.

#include <smooch/client.hpp>
#include <smooch/models.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>

namespace smooch::dispatch {

/// The `metadata` member that carries a line's dispatch key to the server (and back through get_messages).
/// A line whose message metadata already has this member is rejected.
inline constexpr std::string_view key_field = "dispatchKey";

/// A journal or campaign problem that prevents a run (another campaign's journal, a journal in use, read-only,
/// unreadable file...). what() is a complete sentence for an operator.
class dispatch_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One campaign line. As JSON: {"user": "...", "message": {MessagePost}, "app": "..." (optional), "key": "..."
/// (optional)}.
struct campaign_line {
    std::string app;                 ///< Empty: dispatch_params::default_app.
    std::string user;                ///< Required.
    message_post message;            ///< Validated before anything is recorded (smooch::validate).
    std::optional<std::string> key;  ///< Dispatch key; nullopt: derived from the campaign id and the line number.
};

/// The JSON line of `l` (what a campaign file holds).
std::string to_json_line(const campaign_line& l);

/// Where the lines come from. Line numbers start at 1, in the order next() returns them. A source must return the
/// same lines in the same order on every run of one journal: the journal remembers lines by number, and refuses a
/// source whose campaign_id() differs from the one it was created with.
class source {
public:
    virtual ~source() = default;
    /// Identifies the campaign (a file's SHA-256). Stored in the journal; the default keys derive from it.
    virtual const std::string& campaign_id() const = 0;
    /// For humans: the file's path, or what the caller named the source.
    virtual const std::string& name() const = 0;
    /// Number of lines, if known (drives progress and ETA).
    virtual std::optional<std::uint64_t> size() const = 0;
    /// The next line's text (without its newline); false at the end. Throws dispatch_error on a read error.
    virtual bool next(std::string& line) = 0;
    /// Starts again at line 1. dispatcher::run() and write_failures() call it first, so one source may serve
    /// several runs.
    virtual void rewind() = 0;
};

/// A campaign file (JSON lines). Reads it once to compute its SHA-256 and count its lines, then streams it: memory
/// does not grow with its size. Throws dispatch_error if it is missing or unreadable.
std::unique_ptr<source> open_campaign_file(const std::string& path);

/// A source fed by a callback. `next(line)` fills the next line and returns true, or returns false at the end;
/// `rewind()` starts again (may be empty for a source used by one run only). `campaign_id` must change whenever the
/// lines do.
std::unique_ptr<source> callback_source(std::string campaign_id, std::function<bool(std::string&)> next,
                                        std::function<void()> rewind, std::optional<std::uint64_t> size = {});

namespace detail {
inline std::string line_text(const std::string& s) { return s; }
inline std::string line_text(const campaign_line& l) { return to_json_line(l); }
}  // namespace detail

/// A source over a C++ range of campaign_line or of JSON text lines. The range must outlive the source.
template <std::ranges::forward_range Range>
std::unique_ptr<source> range_source(std::string campaign_id, const Range& lines)
{
    auto pos = std::make_shared<std::ranges::iterator_t<const Range>>(std::ranges::begin(lines));
    std::optional<std::uint64_t> size;
    if constexpr (std::ranges::sized_range<const Range>) size = static_cast<std::uint64_t>(std::ranges::size(lines));
    return callback_source(
        std::move(campaign_id),
        [pos, &lines](std::string& out) {
            if (*pos == std::ranges::end(lines)) return false;
            out = detail::line_text(**pos);
            ++*pos;
            return true;
        },
        [pos, &lines] { *pos = std::ranges::begin(lines); }, size);
}

/// A line's state in the journal: pending -> sending -> delivered | failed | unknown; unknown -> (reconciled)
/// delivered, or pending again when reading back proved it was not stored. rejected is final from the start.
enum class line_state : std::uint8_t { pending = 0, sending = 1, unknown = 2, delivered = 3, failed = 4, rejected = 5 };
const char* to_string(line_state s) noexcept;

/// A line that ended (delivered, failed or rejected) during this run; see dispatch_params::on_line.
struct line_event {
    std::uint64_t line = 0;
    line_state state = line_state::pending;
    std::string app, user, key;
    std::string message_id;   ///< delivered: the server's `_id` (empty only if the server applied the post but
                              ///< its answer carried no id and reading back did not show it either).
    bool reconciled = false;  ///< delivered: found by reading the conversation back, not from the post's answer.
    unsigned status = 0;      ///< failed: the HTTP status (0 when the dispatcher gave up, see max_sends).
    std::string api_code;     ///< failed: the API's `error.code`.
    std::string description;  ///< failed / rejected: what was wrong.
};

/// `PRAGMA synchronous` of the journal (WAL mode). See docs/dispatch.md "Durability".
enum class journal_sync {
    full,    ///< Every commit is fsync'ed before it counts: an intent survives a power loss. Default.
    normal,  ///< Commits survive a crash of the process but the last ones may be lost on a power loss (then the
             ///< lines whose intents were lost may be sent again: a duplicate is possible). Faster on slow disks.
};

struct dispatch_params {
    /// Journal file (SQLite). Required. One per campaign: created on the first run, resumed by later ones.
    std::string journal;
    /// App of lines that name none. Default empty: such a line is rejected.
    std::string default_app;
    /// Posts in flight at once. Default 64 (smooch-bench's default, enough to saturate one origin's pool).
    std::size_t concurrency = 64;
    /// Lines whose intent is recorded ahead of a free sender, so the journal's commits overlap the posts instead
    /// of delaying each one (a batch gathers for batch_latency, then waits for its fsync). 0 (default): 4096 or
    /// 8 x `concurrency`, whichever is larger: it must hold rate x (batch_latency + fsync), i.e. 4096 covers
    /// 200 000 lines/s with a 10 ms fsync (8 x 64 starved the senders at 40 000 lines/s: bench/RESULTS.md).
    /// A line held here costs about 1 KB (peak RSS 18.6 MB at 512, 22.4 MB at 4096). Too small a window shows
    /// as dispatch_counters::senders_starved.
    /// After a crash these are reconciled like lines in flight (they are recorded as possibly sent); reads are
    /// per user, so a larger window costs few reads on recovery, and never a duplicate.
    std::size_t intent_window = 0;
    /// Wait after an unknown outcome (or after starting on a crashed run's journal) before reading the
    /// conversation back, so a post the server applied late is visible. Default 3 s. A post applied later than
    /// this and read before it shows is the one residual window (docs/dispatch.md).
    std::chrono::milliseconds settle_delay = std::chrono::seconds(3);
    /// How far before an intent's time reading back starts, for a server clock behind ours. Default 60 s.
    std::chrono::milliseconds clock_skew = std::chrono::seconds(60);
    /// Wait before sending again a line whose post was definitely not applied (429 past the deadline, connect
    /// failures, 503 with Retry-After...). Default 1 s.
    std::chrono::milliseconds retry_delay = std::chrono::seconds(1);
    /// Posts per line in one run (first send included) before the line is marked failed ("gave up"). Default 8.
    unsigned max_sends = 8;
    /// Stop the campaign after this many consecutive lines refused with 401 or 403 and nothing delivered between:
    /// a wrong key or app fails every line alike. 0 disables. Default 10.
    unsigned stop_after_auth_failures = 10;
    /// Stop the campaign after this many consecutive calls ended by a transport error, a timeout or a 5xx with
    /// nothing succeeding between (a server that is down). Lines are left to resume. 0 disables. Default 16.
    unsigned stop_after_errors = 16;
    /// Re-attempt lines that failed in an earlier run (after the operator fixed the cause). Default false.
    bool retry_failed = false;
    /// Largest transaction of the journal's group commit, in operations (intents and results). Default 4096.
    std::size_t batch_max = 4096;
    /// How long the journal gathers ops after the first one before committing them together (one fsync for all).
    /// Default 10 ms: a fast fan-out writes hundreds of lines per fsync (a transaction rewrites whole 4 KiB pages
    /// and pays a syscall per page, so small ones multiply the journal's CPU: 2 ms cost 1.5x as much in
    /// bench/RESULTS.md), and it only delays a line's first post, never the fan-out (see intent_window).
    std::chrono::microseconds batch_latency = std::chrono::milliseconds(10);
    journal_sync synchronous = journal_sync::full;
    /// Testing: PRAGMA max_page_count (journal pages of 4 KiB), to simulate a full disk. 0 (default): no limit.
    std::uint64_t journal_max_pages = 0;
    /// Called on the run's executor for each line that ends during the run. Default none.
    std::function<void(const line_event&)> on_line;
    /// Called once the lines a crashed run left possibly sent are settled (before any other line is read), with
    /// their number, the time it took (settle delay included) and the reads it made. Default none.
    std::function<void(std::uint64_t lines, std::chrono::milliseconds took, std::uint64_t reads)> on_recovered;
};

/// Counters of a run, readable from any thread (dispatcher::counters()).
struct dispatch_counters {
    std::uint64_t total = 0;              ///< Lines in the campaign (0 while unknown).
    std::uint64_t read = 0;               ///< Lines read from the source so far in this run.
    std::uint64_t delivered = 0;          ///< Lines delivered, earlier runs included.
    std::uint64_t failed = 0;             ///< Lines failed, earlier runs included (less those retried).
    std::uint64_t rejected = 0;           ///< Lines rejected, earlier runs included.
    std::uint64_t unknown = 0;            ///< Lines whose outcome is unknown now, awaiting reconciliation.
    std::uint64_t in_flight = 0;          ///< Posts in flight now.
    std::uint64_t posts = 0;              ///< Posts started in this run.
    std::uint64_t resends = 0;            ///< Posts of lines reading back had proved not stored.
    std::uint64_t retries = 0;            ///< Posts again after a definite "not applied" (429 past deadline...).
    std::uint64_t reconcile_reads = 0;    ///< get_messages calls made to reconcile.
    std::uint64_t reconciled_found = 0;   ///< Lines found delivered by reading back.
    std::uint64_t reconciled_absent = 0;  ///< Lines proved not stored by reading back.
    std::uint64_t commits = 0;            ///< Journal transactions committed.
    std::uint64_t done_before = 0;        ///< Lines that had ended in earlier runs (skipped).
    /// Times a free sender found no line ready (intent durable) while the source had more, after the first post:
    /// the journal (gathering plus fsync) fell behind the fan-out. Many per 10^4 lines: raise intent_window,
    /// or lower batch_latency, or the disk's fsync is slow. A few are normal when lines wait to be read back.
    std::uint64_t senders_starved = 0;
    /// Lines ended (delivered + failed + rejected).
    std::uint64_t done() const noexcept { return delivered + failed + rejected; }
};

enum class run_end {
    completed,  ///< Every line ended.
    stopped,    ///< dispatcher::stop(): nothing new was started, lines in flight were settled; resumable.
    aborted,    ///< Stopped early: a failing configuration, a server that is down, or a journal error; resumable.
};
const char* to_string(run_end e) noexcept;

struct run_summary {
    run_end end = run_end::completed;
    std::string reason;  ///< Why (aborted/stopped), a sentence for an operator.
    dispatch_counters counters;
    std::chrono::milliseconds elapsed{0};   ///< The whole run.
    std::uint64_t recovered = 0;            ///< Lines a crashed run had left possibly sent.
    std::chrono::milliseconds recovery{0};  ///< Time taken to settle them (settle delay + reads).
    std::uint64_t recovery_reads = 0;       ///< get_messages calls that settling them took.
    /// CPU time (user + system) of the journal's thread: parsing the lines, SQLite, its writes and fsyncs.
    std::chrono::microseconds journal_cpu{0};
};

/// Runs a campaign over a client. One dispatcher per run; the journal is locked while it exists (a second
/// dispatcher on the same journal, in any process, fails with dispatch_error).
class dispatcher {
public:
    /// Throws std::invalid_argument for bad params.
    dispatcher(smooch::client& c, dispatch_params p);
    ~dispatcher();
    dispatcher(const dispatcher&) = delete;
    dispatcher& operator=(const dispatcher&) = delete;

    /// Opens (or creates) the journal, settles what a crashed run left in flight, then dispatches every line that
    /// has not ended. Runs on the awaiting coroutine's executor (single-threaded use); the journal's commits run on
    /// a thread of their own. Throws dispatch_error when the run cannot start (another campaign's journal, in use,
    /// read-only, unreadable source); problems during the run end it with run_end::aborted and a reason.
    boost::asio::awaitable<run_summary> run(source& src);
    /// Stops starting new posts; posts in flight finish and unknown outcomes are settled, then run() returns
    /// run_end::stopped. Call it on the run's executor (e.g. from a signal_set handler).
    void stop();
    dispatch_counters counters() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

/// What a journal says, read without disturbing a run that holds it.
struct journal_status {
    std::string campaign_id;  ///< Empty while a run that holds the journal is still creating it.
    std::string campaign_name;
    std::uint64_t total = 0;  ///< Lines of the campaign (as counted when the journal was created).
    std::uint64_t pending = 0, sending = 0, unknown = 0, delivered = 0, failed = 0, rejected = 0;
    std::uint64_t not_started = 0;                ///< total less the lines the journal holds.
    bool running = false;                         ///< A run holds the journal now.
    long running_pid = 0;                         ///< Its process id, when running.
    std::int64_t created_ms = 0, updated_ms = 0;  ///< Unix milliseconds.
};
/// Throws dispatch_error if `path` is not a readable journal.
journal_status read_journal_status(const std::string& path);

/// Writes every failed and rejected line as a JSON line: the campaign line's object with an "error" member
/// ({"line","state","status","code","description"}), or {"error":…,"text":"…"} for a line that is not a JSON
/// object. A campaign reader ignores "error", so the file can be fixed and fed back. Returns the lines written.
std::uint64_t write_failures(const std::string& journal, source& src, std::ostream& out);

}  // namespace smooch::dispatch

// SPDX-License-Identifier: BSL-1.0
#pragma once
// Shared by the dispatch tests: temporary journals, campaigns, and the check that the mock's record and the journal
// agree line by line (every line's message stored exactly once, with the id the journal holds).

#include <smooch/dispatch.hpp>
#include <smooch/mock/server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace smooch::test {

/// A fresh directory under /tmp, removed at the end of the test.
struct temp_dir {
    std::filesystem::path path;
    temp_dir()
    {
        static std::atomic<int> n{0};
        path = std::filesystem::temp_directory_path() /
               ("smooch-dispatch-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~temp_dir()
    {
        std::error_code ec;
        std::filesystem::permissions(path, std::filesystem::perms::owner_all, ec);
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

/// Line i (1-based) goes to user "u<i mod users>" with text "line <i>".
inline std::vector<dispatch::campaign_line> make_campaign(std::size_t lines, std::size_t users)
{
    std::vector<dispatch::campaign_line> out;
    for (std::size_t i = 1; i <= lines; ++i) {
        dispatch::campaign_line l;
        l.user = "u" + std::to_string(i % users);
        l.message.text = "line " + std::to_string(i);
        out.push_back(std::move(l));
    }
    return out;
}

/// smooch-mock on a thread of its own (so it keeps its state across the dispatch processes a test runs), over TLS,
/// with one account key; its CA is written to the test's directory for --ca.
struct dispatch_mock {
    boost::asio::io_context io{1};
    std::unique_ptr<mock::server> server;
    std::thread thread;
    std::string ca_file;

    dispatch_mock(mock::server_params p, const temp_dir& dir)
    {
        p.tls = mock::generate_tls();
        p.keys.push_back({"act_key", "act_secret", std::nullopt});
        ca_file = dir.file("ca.pem");
        std::ofstream(ca_file) << p.tls->ca_pem;
        server = std::make_unique<mock::server>(io.get_executor(), p);
        server->start();
        thread = std::thread([this] { io.run(); });
    }
    ~dispatch_mock()
    {
        server->stop();
        thread.join();
    }

    /// `exe run CAMPAIGN --journal JOURNAL` against this mock with its key and app_1, then `more`.
    std::vector<std::string> run_args(const std::string& exe, const std::string& campaign, const std::string& journal,
                                      const std::vector<std::string>& more) const
    {
        std::vector<std::string> a = {
            exe,        "run",     campaign,   "--journal",  journal, "--url", server->base_url(), "--ca", ca_file,
            "--key-id", "act_key", "--secret", "act_secret", "--app", "app_1"};
        a.insert(a.end(), more.begin(), more.end());
        return a;
    }
};

/// The file form of make_campaign(): line i to user "u<i mod users>", text "line <i>".
inline void write_campaign_file(const std::string& path, std::size_t lines, std::size_t users)
{
    std::ofstream f(path);
    for (const auto& l : make_campaign(lines, users)) f << dispatch::to_json_line(l) << '\n';
}

struct journal_row {
    int state = -1;
    std::string message_id;
    int sends = 0;
    bool reconciled = false;
};

/// Every row of a journal, by line, read with SQLite as a person with the sqlite3 CLI would.
inline std::map<std::uint64_t, journal_row> read_journal(const std::string& path)
{
    std::map<std::uint64_t, journal_row> rows;
    sqlite3* db = nullptr;
    BOOST_REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    BOOST_REQUIRE(sqlite3_prepare_v2(db, "SELECT line, state, message_id, sends, reconciled FROM lines", -1, &s,
                                     nullptr) == SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
        journal_row r;
        r.state = sqlite3_column_int(s, 1);
        if (const auto* t = sqlite3_column_text(s, 2)) r.message_id = reinterpret_cast<const char*>(t);
        r.sends = sqlite3_column_int(s, 3);
        r.reconciled = sqlite3_column_int(s, 4) != 0;
        rows[static_cast<std::uint64_t>(sqlite3_column_int64(s, 0))] = r;
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rows;
}

/// The proof: the record holds each line's message exactly once (and nothing else), and the journal says each line
/// was delivered with exactly that message's id. Returns the number of lines that disagree.
inline std::size_t check_exactly_once(const mock::record& rec, const std::string& journal, std::size_t lines,
                                      std::size_t users, const std::string& app = "app_1")
{
    std::map<std::string, std::vector<std::string>> ids_by_text;  // text -> ids of stored messages with it
    std::size_t stored = 0, created = 0;
    for (const auto& c : rec.conversations) {
        if (c.app_id != app) continue;
        stored += c.messages.size();
        created += c.created_ids.size();
        for (const auto& m : c.messages) ids_by_text[c.user_id + "|" + m.text.value_or("")].push_back(m.id);
    }
    BOOST_TEST(stored == lines);
    BOOST_TEST(created == lines);  // nothing stored and deleted either
    const auto rows = read_journal(journal);
    std::size_t bad = 0;
    for (std::size_t i = 1; i <= lines; ++i) {
        const std::string k = "u" + std::to_string(i % users) + "|line " + std::to_string(i);
        const auto it = ids_by_text.find(k);
        const std::size_t copies = it == ids_by_text.end() ? 0 : it->second.size();
        const auto row = rows.find(i);
        const bool ok = copies == 1 && row != rows.end() &&
                        row->second.state == static_cast<int>(dispatch::line_state::delivered) &&
                        row->second.message_id == it->second.front();
        if (!ok && bad++ < 10)
            BOOST_ERROR("line " << i << ": " << copies << " stored, journal state "
                                << (row == rows.end() ? -1 : row->second.state) << " id "
                                << (row == rows.end() ? "" : row->second.message_id));
    }
    return bad;
}

}  // namespace smooch::test

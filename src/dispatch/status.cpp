// SPDX-License-Identifier: BSL-1.0
// The journal as a reader sees it: `status` (also while a run holds it) and the --failures file.

#include "dispatch/journal.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <ostream>

namespace smooch::dispatch {

journal_status read_journal_status(const std::string& path) { return detail::read_status(path); }

std::uint64_t write_failures(const std::string& journal, source& src, std::ostream& out)
{
    std::vector<detail::ended_badly> bad;  // only the failed and rejected lines, not the campaign
    detail::for_each_ended_badly(journal, [&](const detail::ended_badly& e) { bad.push_back(e); });
    if (bad.empty()) return 0;
    src.rewind();
    std::string text;
    std::uint64_t line = 0, written = 0;
    std::size_t i = 0;
    while (i < bad.size() && src.next(text)) {
        if (++line != bad[i].line) continue;
        const auto& e = bad[i++];
        boost::json::object err;
        err["line"] = line;
        err["state"] = to_string(e.state);
        if (e.status) err["status"] = e.status;
        if (!e.api_code.empty()) err["code"] = e.api_code;
        err["description"] = e.description;
        boost::system::error_code ec;
        boost::json::value v = boost::json::parse(text, ec);
        if (!ec && v.is_object()) {
            v.get_object()["error"] = std::move(err);
        } else {
            boost::json::object o;
            o["error"] = std::move(err);
            o["text"] = text;
            v = std::move(o);
        }
        out << boost::json::serialize(v) << '\n';
        ++written;
    }
    return written;
}

}  // namespace smooch::dispatch

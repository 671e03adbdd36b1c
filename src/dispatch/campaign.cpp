// SPDX-License-Identifier: BSL-1.0
// The campaign file source and the line parser. The file is read twice: once to hash and count it (so the journal
// can refuse another campaign before anything is sent), then streamed line by line; neither pass holds more than a
// buffer.

#include "dispatch/campaign.hpp"

#include "models/validate_internal.hpp"

#include <smooch/json.hpp>
#include <smooch/validate.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace smooch::dispatch {

namespace {

std::string errno_text(int e) { return std::strerror(e); }

struct file_closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using file_ptr = std::unique_ptr<std::FILE, file_closer>;

file_ptr open_or_throw(const std::string& path)
{
    file_ptr f{std::fopen(path.c_str(), "rb")};
    if (!f) throw dispatch_error("cannot open campaign file " + path + ": " + errno_text(errno));
    return f;
}

std::string to_hex(const unsigned char* md, unsigned len)
{
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

class file_source final : public source {
public:
    explicit file_source(std::string path) : path_(std::move(path))
    {
        auto f = open_or_throw(path_);
        std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
        if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
            throw dispatch_error("cannot hash campaign file " + path_ + ": OpenSSL failed");
        std::string buf(1 << 20, '\0');
        std::uint64_t lines = 0;
        char last = '\n';
        for (;;) {
            const std::size_t n = std::fread(buf.data(), 1, buf.size(), f.get());
            if (n == 0) break;
            EVP_DigestUpdate(ctx.get(), buf.data(), n);
            for (std::size_t i = 0; i < n; ++i) lines += buf[i] == '\n';
            last = buf[n - 1];
        }
        if (std::ferror(f.get())) throw dispatch_error("cannot read campaign file " + path_ + ": " + errno_text(errno));
        if (last != '\n') ++lines;  // a last line without its newline is still a line
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        EVP_DigestFinal_ex(ctx.get(), md, &len);
        id_ = to_hex(md, len);
        size_ = lines;
        rewind();
    }

    const std::string& campaign_id() const override { return id_; }
    const std::string& name() const override { return path_; }
    std::optional<std::uint64_t> size() const override { return size_; }

    bool next(std::string& line) override
    {
        char* p = buf_;
        std::size_t cap = cap_;
        const ssize_t n = ::getline(&p, &cap, f_.get());
        buf_ = p;
        cap_ = cap;
        if (n < 0) {
            if (std::ferror(f_.get()))
                throw dispatch_error("cannot read campaign file " + path_ + ": " + errno_text(errno));
            check_unchanged();
            return false;
        }
        EVP_DigestUpdate(again_.get(), buf_, static_cast<std::size_t>(n));
        std::size_t len = static_cast<std::size_t>(n);
        if (len && buf_[len - 1] == '\n') --len;
        if (len && buf_[len - 1] == '\r') --len;
        line.assign(buf_, len);
        return true;
    }

    void rewind() override
    {
        f_ = open_or_throw(path_);
        again_.reset(EVP_MD_CTX_new());
        if (!again_ || EVP_DigestInit_ex(again_.get(), EVP_sha256(), nullptr) != 1)
            throw dispatch_error("cannot hash campaign file " + path_ + ": OpenSSL failed");
    }

    ~file_source() override { std::free(buf_); }

private:
    // The lines are numbered by position: a file edited while it is dispatched would pair journal rows with other
    // lines. What was streamed is hashed again, and must be what the journal was opened for.
    void check_unchanged()
    {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        EVP_DigestFinal_ex(again_.get(), md, &len);
        if (to_hex(md, len) != id_)
            throw dispatch_error("campaign file " + path_ +
                                 " changed while it was being dispatched (its SHA-256 is "
                                 "not the one the run started with): restore the original file and run again");
    }

    std::string path_, id_;
    std::uint64_t size_ = 0;
    file_ptr f_;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> again_{nullptr, EVP_MD_CTX_free};
    char* buf_ = nullptr;
    std::size_t cap_ = 0;
};

class callback_source_impl final : public source {
public:
    callback_source_impl(std::string id, std::function<bool(std::string&)> next, std::function<void()> rewind,
                         std::optional<std::uint64_t> size)
        : id_(std::move(id)), name_("callback source " + id_), next_(std::move(next)), rewind_(std::move(rewind)),
          size_(size)
    {
        if (id_.empty()) throw std::invalid_argument("callback_source: the campaign id must not be empty");
    }
    const std::string& campaign_id() const override { return id_; }
    const std::string& name() const override { return name_; }
    std::optional<std::uint64_t> size() const override { return size_; }
    bool next(std::string& line) override { return next_(line); }
    void rewind() override
    {
        if (rewind_) rewind_();
    }

private:
    std::string id_, name_;
    std::function<bool(std::string&)> next_;
    std::function<void()> rewind_;
    std::optional<std::uint64_t> size_;
};

}  // namespace

std::unique_ptr<source> open_campaign_file(const std::string& path) { return std::make_unique<file_source>(path); }

std::unique_ptr<source> callback_source(std::string campaign_id, std::function<bool(std::string&)> next,
                                        std::function<void()> rewind, std::optional<std::uint64_t> size)
{
    return std::make_unique<callback_source_impl>(std::move(campaign_id), std::move(next), std::move(rewind), size);
}

std::string to_json_line(const campaign_line& l)
{
    boost::json::object o;
    o["user"] = l.user;
    o["message"] = to_json(l.message);
    if (!l.app.empty()) o["app"] = l.app;
    if (l.key) o["key"] = *l.key;
    return boost::json::serialize(o);
}

namespace detail {

std::string default_key(std::string_view campaign_id, std::uint64_t line)
{
    return std::string(campaign_id.substr(0, 16)) + "-" + std::to_string(line);
}

std::variant<prepared_line, rejection> parse_line(std::string_view text, std::uint64_t line,
                                                  std::string_view default_app, std::string_view campaign_id)
{
    auto reject = [&](std::string why) { return rejection{line, std::move(why)}; };
    if (text.find_first_not_of(" \t") == std::string_view::npos) return reject("blank line");
    // The tree lives in a stack arena (heap only beyond it): no allocation per node, and nothing to free one by one.
    // Declared first, so that it outlives everything below that may share its storage (the body's metadata).
    alignas(std::max_align_t) unsigned char arena[4096];
    boost::json::monotonic_resource mr(arena, sizeof arena);
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(text, ec, boost::json::storage_ptr(&mr));
    if (ec) return reject("not valid JSON: " + ec.message());
    const auto* o = v.if_object();
    if (!o) return reject("a campaign line must be a JSON object");
    prepared_line p;
    p.line = line;
    const boost::json::value* message = nullptr;
    std::optional<std::string> key;
    for (const auto& m : *o) {
        const std::string_view name = m.key();
        if (name == "user" || name == "app" || name == "key") {
            const auto* s = m.value().if_string();
            if (!s) return reject(std::string(name) + ": must be a string");
            if (name == "user") p.user = *s;
            else if (name == "app") p.app = *s;
            else key = std::string(*s);
        } else if (name == "message") {
            message = &m.value();
        } else if (name != "error") {  // "error" is what --failures adds: ignored, so that file can be fed back
            return reject("unknown member \"" + std::string(name) + "\" (expected user, message, app, key)");
        }
    }
    if (p.user.empty()) return reject("user: required (a non-empty string)");
    if (p.app.empty()) p.app = default_app;
    if (p.app.empty()) return reject("app: required (the line names none and no default app was given)");
    if (!message) return reject("message: required (a MessagePost object)");
    if (!message->is_object()) return reject("message: must be an object");
    if (key) {
        if (key->empty()) return reject("key: must not be empty");
        if (key->size() > max_key_size) return reject("key: longer than " + std::to_string(max_key_size) + " bytes");
        if (key->starts_with(default_key(campaign_id, 0).substr(0, 17)))
            return reject("key: must not start with \"" + default_key(campaign_id, 0).substr(0, 17) +
                          "\" (the form of the keys derived for lines without one)");
    }
    diagnostics diag;
    auto body = from_json<message_post>(*message, diag);
    if (!body) return reject("message." + diag.message);
    if (!body->metadata) body->metadata.emplace();
    if (body->metadata->contains(key_field))
        return reject("message.metadata." + std::string(key_field) + ": reserved for the dispatch key");
    p.key_derived = !key;
    p.key = key ? std::move(*key) : default_key(campaign_id, line);
    (*body->metadata)[key_field] = p.key;
    diag.clear();
    auto prepared = prepared_message_post::prepare(*body, diag);
    if (!prepared) return reject("message." + diag.message);
    p.body = std::move(*prepared);
    return p;
}

}  // namespace detail
}  // namespace smooch::dispatch

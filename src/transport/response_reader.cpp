// SPDX-License-Identifier: BSL-1.0
#include "transport/response_reader.hpp"

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

namespace smooch::detail {

namespace beast = boost::beast;
namespace http = beast::http;

class response_reader::parser final : public http::basic_parser<false> {
public:
    parser(std::size_t header_limit, std::size_t body_limit)
    {
        eager(true);
        this->header_limit(static_cast<std::uint32_t>(header_limit));
        this->body_limit(body_limit);
    }
    unsigned status = 0;
    std::string retry_after;
    std::string body;

private:
    void on_request_impl(http::verb, beast::string_view, beast::string_view, int, error_code&) override {}
    void on_response_impl(int code, beast::string_view, int, error_code& ec) override
    {
        status = static_cast<unsigned>(code);
        // Beast reads any three digits; RFC 9110 §15 defines 100..599. A "051" is a broken server, not an
        // answer that says whether the request was applied.
        if (status < 100 || status > 599) ec = client_errc::bad_response;
    }
    void on_field_impl(http::field name, beast::string_view, beast::string_view value, error_code&) override
    {
        if (name == http::field::retry_after) retry_after.assign(value.data(), value.size());
    }
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override
    {
        if (length) body.reserve(static_cast<std::size_t>(*length));  // already checked against body_limit
    }
    std::size_t on_body_impl(beast::string_view s, error_code&) override
    {
        body.append(s.data(), s.size());
        return s.size();
    }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view s, error_code&) override
    {
        body.append(s.data(), s.size());
        return s.size();
    }
    void on_finish_impl(error_code&) override {}
};

response_reader::response_reader(std::size_t header_limit, std::size_t body_limit)
    : header_limit_(header_limit), body_limit_(body_limit), p_(std::make_unique<parser>(header_limit, body_limit))
{}

response_reader::~response_reader() = default;

std::size_t response_reader::put(boost::asio::const_buffer data, error_code& ec)
{
    std::size_t used = 0;
    for (;;) {
        used += p_->put(boost::asio::buffer(data + used), ec);
        if (ec || !p_->is_done()) return used;
        const unsigned s = p_->status;
        if (s >= 200 || s < 100) return used;  // the final response
        if (s == 101) {                        // we never ask to switch protocols
            ec = client_errc::bad_response;
            return used;
        }
        // An interim response (100 Continue, 102, 103 Early Hints): skip it, parse the next one.
        if (++interim_ > max_interim) {
            ec = client_errc::bad_response;
            return used;
        }
        p_ = std::make_unique<parser>(header_limit_, body_limit_);
        if (used == data.size()) {
            ec = http::error::need_more;
            return used;
        }
    }
}

void response_reader::put_eof(error_code& ec)
{
    if (p_->got_some()) p_->put_eof(ec);
    if (!ec && !p_->is_done()) ec = http::error::end_of_stream;
}

bool response_reader::done() const noexcept { return p_->is_done(); }
bool response_reader::got_some() const noexcept { return p_->got_some() || interim_ > 0; }
bool response_reader::keep_alive() const noexcept { return p_->keep_alive(); }
unsigned response_reader::status() const noexcept { return p_->status; }
const std::string& response_reader::retry_after() const noexcept { return p_->retry_after; }
std::string& response_reader::body() noexcept { return p_->body; }
unsigned response_reader::interim() const noexcept { return interim_; }

}  // namespace smooch::detail

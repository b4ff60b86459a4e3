// The HTTP/1.1 request parser of http_hello.cpp: plain functions over bytes, no I/O, so that
// tests/fuzz/http_request_fuzz.cpp can feed it arbitrary input. parse_request(buf) looks only at
// the bytes of `buf`; a complete request's `length` is never more than buf.size(), and for a `buf`
// no longer than max_request (the server's buffer) never more than max_request.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <string_view>
#include <system_error>

namespace http_hello {

/// The most a request (request line, headers and body) may take; more is answered with 400.
inline constexpr std::size_t max_request = 8192;

enum class parse_status { complete, incomplete, bad };

struct parsed_request {
    parse_status status = parse_status::incomplete;
    std::size_t length = 0; ///< bytes the request takes, body included (when complete)
    bool keep_alive = true; ///< false: answer, then close the connection
    bool http10 = false;    ///< an HTTP/1.0 request (keep-alive must then be said explicitly)
};

/// RFC 9110 `tchar`: the characters of a method or a header name.
inline bool is_tchar(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

inline bool is_token(std::string_view s) noexcept {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

/// Visible characters and (in field values) spaces and tabs; no CR, LF, NUL or other controls.
inline bool is_field_text(std::string_view s) noexcept {
    return std::all_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u == '\t' || (u >= 0x20 && u != 0x7f);
    });
}

inline bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

inline std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

/// Takes the next line off `rest` (without its CRLF, or its bare LF, which RFC 9112 lets a server
/// accept). False when `rest` holds no complete line yet.
inline bool next_line(std::string_view& rest, std::string_view& line) noexcept {
    const auto lf = rest.find('\n');
    if (lf == std::string_view::npos) {
        return false;
    }
    line = rest.substr(0, lf);
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    rest.remove_prefix(lf + 1);
    return true;
}

/// Parses the request at the start of `buf`. Every complete line is checked as soon as it is
/// there, so garbage is rejected at once rather than when the buffer fills up.
inline parsed_request parse_request(std::string_view buf) {
    parsed_request req;
    std::string_view rest = buf;
    std::string_view line;

    // request-line = method SP request-target SP HTTP-version; empty lines before it are skipped.
    do {
        if (!next_line(rest, line)) {
            return req;
        }
    } while (line.empty());
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) {
        req.status = parse_status::bad;
        return req;
    }
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method) || target.empty() || !is_field_text(target) ||
        target.find_first_of(" \t") != std::string_view::npos ||
        (version != "HTTP/1.1" && version != "HTTP/1.0")) {
        req.status = parse_status::bad;
        return req;
    }
    req.http10 = version == "HTTP/1.0";

    // field-line = field-name ":" OWS field-value OWS, until an empty line.
    std::size_t content_length = 0;
    bool has_length = false;
    bool says_close = false;
    bool says_keep_alive = false;
    for (;;) {
        if (!next_line(rest, line)) {
            return req; // incomplete
        }
        if (line.empty()) {
            break;
        }
        const auto colon = line.find(':');
        const std::string_view name = line.substr(0, colon);
        if (colon == std::string_view::npos || !is_token(name)) { // also rejects "Name : v"
            req.status = parse_status::bad;
            return req;
        }
        const std::string_view value = trim(line.substr(colon + 1));
        if (!is_field_text(value)) {
            req.status = parse_status::bad;
            return req;
        }
        if (iequals(name, "Content-Length")) {
            std::size_t n = 0;
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (value.empty() || ec != std::errc{} || end != value.data() + value.size() ||
                (has_length && n != content_length)) {
                req.status = parse_status::bad;
                return req;
            }
            content_length = n;
            has_length = true;
        } else if (iequals(name, "Transfer-Encoding")) {
            req.status = parse_status::bad; // chunked bodies are not supported by this example
            return req;
        } else if (iequals(name, "Connection")) {
            // A comma-separated list of options: "close", "keep-alive", others ignored.
            std::string_view opts = value;
            while (!opts.empty()) {
                const auto comma = opts.find(',');
                const std::string_view opt = trim(opts.substr(0, comma));
                says_close = says_close || iequals(opt, "close");
                says_keep_alive = says_keep_alive || iequals(opt, "keep-alive");
                opts =
                    comma == std::string_view::npos ? std::string_view{} : opts.substr(comma + 1);
            }
        }
    }

    // HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told to keep it.
    req.keep_alive = !says_close && (!req.http10 || says_keep_alive);

    const std::size_t head = buf.size() - rest.size();
    if (content_length > max_request - head) {
        req.status = parse_status::bad; // the body would not fit: oversized
        return req;
    }
    if (rest.size() < content_length) {
        return req; // incomplete: the body is still arriving
    }
    req.status = parse_status::complete;
    req.length = head + content_length;
    return req;
}

} // namespace http_hello

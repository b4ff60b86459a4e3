// io_category(): the error category of weft::io::errc (error.hpp). Its messages are the only
// text of weft::io's own errors; every other failure is a std::system_category errno.

#include <weft/io/error.hpp>

#include <string>

namespace weft::io {

namespace {

class io_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "weft.io"; }
    std::string message(int c) const override {
        switch (static_cast<errc>(c)) {
        case errc::unexpected_eof:
            return "unexpected end of stream";
        case errc::host_not_found:
            return "host not found";
        case errc::resolve_again:
            return "temporary failure in name resolution";
        case errc::resolve_failed:
            return "name resolution failed";
        case errc::message_too_long:
            return "message exceeds the buffer's size limit";
        case errc::end_of_stream:
            return "end of stream";
        }
        return "unknown weft.io error";
    }
};

} // namespace

const std::error_category& io_category() noexcept {
    static const io_error_category c;
    return c;
}

} // namespace weft::io

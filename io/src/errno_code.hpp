// Private: errno_code(e), the std::error_code of an errno value (std::system_category), as
// every weft::io failure that is not one of weft::io::errc reports it.
#pragma once

#include <system_error>

namespace weft::io::detail {

/// The error code of the errno value `e` (e > 0).
inline std::error_code errno_code(int e) noexcept {
    return {e, std::system_category()};
}

} // namespace weft::io::detail

// <weft/weft.hpp>: everything weft offers, in one include.
//
//     #include <weft/weft.hpp>
//     int main() { return weft::run([]() -> weft::task<int> { co_return 0; }); }
#pragma once

#include <weft/runtime.hpp>

#if __has_include(<weft/sync.hpp>)
#include <weft/sync.hpp>
#endif
#if __has_include(<weft/io.hpp>)
#include <weft/io.hpp>
#endif

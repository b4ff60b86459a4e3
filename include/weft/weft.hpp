// <weft/weft.hpp>: everything weft offers, in one include.
//
//     #include <weft/weft.hpp>
//     int main() { return weft::run([]() -> weft::task<int> { co_return 0; }); }
#pragma once

#include <weft/io.hpp>
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

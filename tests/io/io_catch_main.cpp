// Catch2 main for building tests/io on its own (the project build shares tests/support's).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

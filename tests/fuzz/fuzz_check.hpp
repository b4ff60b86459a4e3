// FUZZ_CHECK(cond, what): an invariant of a fuzz target. A violation prints the condition and
// aborts, which libFuzzer reports as a crash and saves the input. Not assert(): the fuzz targets
// are built with -DNDEBUG (RelWithDebInfo), and an invariant that is not checked finds nothing.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(                                                                          \
                stderr, "%s:%d: invariant violated: %s (%s)\n", __FILE__, __LINE__, #cond, what);  \
            std::abort();                                                                          \
        }                                                                                          \
    } while (0)

// WEFT_NODISCARD(msg): `[[nodiscard(msg)]]` spelled as a macro for class declarations.
//
// clang-format 14 mis-parses `class [[nodiscard("msg")]] name`: it takes the attribute for the
// start of an expression and folds the class body into garbage (namespace comments inside the
// class, `task(task && o)`). Listed under AttributeMacros in .clang-format, the macro is formatted
// as the attribute it is. Functions keep the plain attribute, which clang-format parses.
#pragma once

#define WEFT_NODISCARD(msg) [[nodiscard(msg)]]

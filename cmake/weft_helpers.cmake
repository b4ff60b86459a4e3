# weft_set_warnings(target): the project's warning set, PRIVATE so consumers never inherit it
# (STYLE.md 8). -Werror comes from CMAKE_COMPILE_WARNING_AS_ERROR=ON in CI, not from here.
function(weft_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wcast-qual -Wnon-virtual-dtor -Wmissing-declarations
    -Wundef -Wformat-security)
endfunction()

# Checks that ignoring the result of a result-returning await fails a -Werror=unused-result
# clang build: ignored_await.cpp must compile with CASE=0 and fail, naming unused-result, with every
# CASE from 1 to CASES. Run with -DCXX=<clang++> -DSRC=<file> -DINCLUDES=<dir|dir...>
# -DCASES=<n> -P check_ignored_await.cmake.
string(REPLACE "|" ";" include_dirs "${INCLUDES}")
set(flags -std=c++20 -Wall -Wextra -Werror=unused-result -fsyntax-only)
foreach(dir IN LISTS include_dirs)
  list(APPEND flags -I${dir})
endforeach()

foreach(n RANGE 0 ${CASES})
  execute_process(
    COMMAND ${CXX} ${flags} -DCASE=${n} ${SRC}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(n EQUAL 0)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "CASE=0 (every result used) does not compile:\n${out}")
    endif()
  elseif(rc EQUAL 0)
    message(FATAL_ERROR "CASE=${n}: the ignored await compiled without an unused-result error")
  elseif(NOT out MATCHES "unused-result")
    message(FATAL_ERROR "CASE=${n} failed, but not for unused-result:\n${out}")
  endif()
endforeach()
message(STATUS "every ignored await of CASE 1..${CASES} fails the build; CASE=0 compiles")

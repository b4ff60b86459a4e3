# CTest driver for weft_add_test(... KNOWN_BUG "...") (see tests/CMakeLists.txt).
#   cmake -DBUILD_DIR=<build dir> -DTARGET=<test target> -DEXE=<its file> -DBUG=<text> -P known_bug.cmake
# Builds the test executable and runs it. Passes while either step fails (the bug is still there);
# fails once both succeed, so that whoever fixed the bug removes the KNOWN_BUG mark and the tests
# join the normal suite.
foreach(v BUILD_DIR TARGET EXE BUG)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "known_bug.cmake: -D${v}=... is required")
  endif()
endforeach()

message(STATUS "KNOWN RUNTIME BUG: ${BUG}")
execute_process(
  COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET}
  RESULT_VARIABLE build_rc
  OUTPUT_VARIABLE build_out
  ERROR_VARIABLE build_out)
if(NOT build_rc EQUAL 0)
  string(REGEX MATCHALL "[^\n]*error: [^\n]*" errors "${build_out}")
  list(LENGTH errors n)
  if(n GREATER 5)
    list(SUBLIST errors 0 5 errors)
  endif()
  string(REPLACE ";" "\n  " errors "${errors}")
  message(STATUS "still broken (expected): ${TARGET} does not compile:\n  ${errors}")
  return()
endif()

execute_process(COMMAND ${EXE} RESULT_VARIABLE run_rc)
if(NOT run_rc EQUAL 0)
  message(STATUS "still broken (expected): ${TARGET} builds but its tests fail (exit ${run_rc})")
  return()
endif()

message(FATAL_ERROR
  "${TARGET} now builds and passes: the known bug looks fixed. Remove KNOWN_BUG from its "
  "weft_add_test() so that its tests run as part of the normal suite.")

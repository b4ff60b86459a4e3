# Fails if a test case name of a weft::sync test executable contains ';'. catch_discover_tests
# treats ';' as a CMake list separator: the name is split into two CTest entries whose specs
# match no test case, and Catch2 v2 exits 0 when nothing matched, so the test silently never runs
# under ctest (it happened to five sync tests). Run by CTest (tests/sync/CMakeLists.txt) with
#   -DEXES=<executable>|<executable>|...
string(REPLACE "|" ";" exes "${EXES}")
set(bad "")
foreach(exe IN LISTS exes)
  execute_process(COMMAND "${exe}" --list-test-names-only "*"
    OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  # Catch2 v2 returns the number of test cases listed.
  if(rc LESS 0)
    message(FATAL_ERROR "${exe} --list-test-names-only failed: ${rc}")
  endif()
  string(REPLACE ";" "<SEMICOLON>" out "${out}")
  string(REPLACE "\n" ";" lines "${out}")
  foreach(line IN LISTS lines)
    if(line MATCHES "<SEMICOLON>")
      string(REPLACE "<SEMICOLON>" ";" line "${line}")
      get_filename_component(name "${exe}" NAME)
      string(APPEND bad "  ${name}: ${line}\n")
    endif()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "test case names with ';' (ctest would never run them; use ':' or ','):\n${bad}")
endif()
message(STATUS "no sync test case name contains ';'")

# Checks that the guide cannot drift from code that compiles: every code block in docs/*.md that is
# marked
#
#   <!-- snippet: snippets/NAME.cpp -->
#   ```cpp
#   ...
#   ```
#
# must be byte for byte the file docs/snippets/NAME.cpp (which tests/docs/CMakeLists.txt builds and
# runs as a test), and every file in docs/snippets/ must be shown by some page.
#
#   cmake -DDOCS_DIR=<repo>/docs -P check_snippets.cmake             check (the CTest test
#                                                                    docs:snippets-match)
#   cmake -DDOCS_DIR=<repo>/docs -DUPDATE=ON -P check_snippets.cmake rewrite the blocks from the
#                                                                    files
cmake_minimum_required(VERSION 3.20)

if(NOT DOCS_DIR)
  message(FATAL_ERROR "check_snippets.cmake: pass -DDOCS_DIR=<repository>/docs")
endif()

set(marker "<!-- snippet: ")
set(fence "```")
set(failures 0)
set(shown "")

file(GLOB pages "${DOCS_DIR}/*.md")
foreach(page IN LISTS pages)
  get_filename_component(page_name "${page}" NAME)
  file(READ "${page}" text)
  set(rest "${text}")
  set(out "")
  while(TRUE)
    string(FIND "${rest}" "${marker}" at)
    if(at EQUAL -1)
      break()
    endif()
    # The snippet's path, up to " -->".
    string(LENGTH "${marker}" marker_len)
    math(EXPR path_at "${at} + ${marker_len}")
    string(SUBSTRING "${rest}" ${path_at} -1 after_marker)
    string(FIND "${after_marker}" " -->\n" path_end)
    if(path_end EQUAL -1)
      message(SEND_ERROR "${page_name}: a snippet marker without ' -->' at the end of its line")
      math(EXPR failures "${failures} + 1")
      break()
    endif()
    string(SUBSTRING "${after_marker}" 0 ${path_end} rel)
    list(APPEND shown "${rel}")
    math(EXPR block_at "${path_end} + 5")
    string(SUBSTRING "${after_marker}" ${block_at} -1 after_line)
    # The next line must open a C++ block.
    string(FIND "${after_line}" "${fence}cpp\n" open)
    if(NOT open EQUAL 0)
      message(SEND_ERROR "${page_name}: the marker of ${rel} must be followed by a ${fence}cpp line")
      math(EXPR failures "${failures} + 1")
      break()
    endif()
    string(SUBSTRING "${after_line}" 7 -1 body_and_rest)
    string(FIND "${body_and_rest}" "\n${fence}" close)
    if(close EQUAL -1)
      message(SEND_ERROR "${page_name}: the block of ${rel} is never closed")
      math(EXPR failures "${failures} + 1")
      break()
    endif()
    math(EXPR body_len "${close} + 1")
    string(SUBSTRING "${body_and_rest}" 0 ${body_len} body)
    string(SUBSTRING "${body_and_rest}" ${body_len} -1 tail)

    # Everything up to and including the opening fence is kept as it is.
    math(EXPR head_len "${path_at} + ${block_at} + 7")
    string(SUBSTRING "${rest}" 0 ${head_len} head)
    string(APPEND out "${head}")

    set(file "${DOCS_DIR}/${rel}")
    if(NOT EXISTS "${file}")
      message(SEND_ERROR "${page_name}: ${rel} does not exist")
      math(EXPR failures "${failures} + 1")
      string(APPEND out "${body}")
    else()
      file(READ "${file}" code)
      if(UPDATE)
        string(APPEND out "${code}")
      else()
        string(APPEND out "${body}")
        if(NOT body STREQUAL code)
          message(SEND_ERROR
            "${page_name}: the block marked ${rel} differs from docs/${rel}; edit the file, then "
            "run cmake -DDOCS_DIR=docs -DUPDATE=ON -P tests/docs/check_snippets.cmake")
          math(EXPR failures "${failures} + 1")
        endif()
      endif()
    endif()
    set(rest "${tail}")
  endwhile()
  string(APPEND out "${rest}")
  if(UPDATE AND NOT out STREQUAL text)
    file(WRITE "${page}" "${out}")
    message(STATUS "updated ${page_name}")
  endif()
endforeach()

file(GLOB snippets RELATIVE "${DOCS_DIR}" "${DOCS_DIR}/snippets/*.cpp")
foreach(s IN LISTS snippets)
  if(NOT s IN_LIST shown)
    message(SEND_ERROR "docs/${s} is shown by no page (mark a block with ${marker}${s} -->)")
    math(EXPR failures "${failures} + 1")
  endif()
endforeach()

if(failures GREATER 0)
  message(FATAL_ERROR "${failures} snippet problem(s) in ${DOCS_DIR}")
endif()
list(LENGTH shown n)
message(STATUS "${n} snippet blocks match their files")

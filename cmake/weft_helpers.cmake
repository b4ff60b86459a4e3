# weft_set_warnings(target): the project's warning set, PRIVATE so consumers never inherit it.
# -Werror comes from CMAKE_COMPILE_WARNING_AS_ERROR=ON in CI and the presets, not from here: a
# project that adds weft with add_subdirectory must not have its build broken by a newer compiler.
function(weft_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wcast-qual -Wnon-virtual-dtor -Wmissing-declarations
    -Wundef -Wformat-security)
endfunction()

# weft_add_component(<name> SOURCES <file>... [PUBLIC_LIBS <target>...] [PRIVATE_LIBS <target>...])
#
# One library of weft, as all three are built: target weft_<name>, alias weft::<name> (exported as
# weft::<name>), public headers in <component>/include (installed), private headers in
# <component>/src, C++20, the project's warnings, installed into the weftTargets export set.
# A shared build (BUILD_SHARED_LIBS=ON) names the file libweft_<name>.so.<PROJECT_VERSION> with
# the SONAME libweft_<name>.so.<major> (libweft_runtime.so.0 for every 0.x release).
function(weft_add_component name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;PUBLIC_LIBS;PRIVATE_LIBS")
  if(NOT arg_SOURCES OR arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "weft_add_component(${name} SOURCES ...): bad arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  set(target weft_${name})
  add_library(${target} ${arg_SOURCES})
  add_library(weft::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME ${target}
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
  target_include_directories(${target}
    PUBLIC
      $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE src)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_link_libraries(${target} PUBLIC ${arg_PUBLIC_LIBS} PRIVATE ${arg_PRIVATE_LIBS})
  weft_set_warnings(${target})
  install(TARGETS ${target} EXPORT weftTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()

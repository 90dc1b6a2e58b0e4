# Every public header compiles alone in its own translation unit (syntax only), so a user can include
# exactly the header they need. Run by the ctest tests headers_plain (against rnnabs::rnnabs: no zip, no
# libpng; the headers that need them are skipped, and must stop with an #error naming their target) and
# headers_full (RNNABS_HAVE_ZIP and RNNABS_HAVE_PNG defined: every header).
#   cmake -DCXX=... -DSOURCE_DIR=... -DINCLUDES="a;b" -DMODE=plain|full -DWORK_DIR=... -P check_headers.cmake
cmake_minimum_required(VERSION 3.25)
foreach(v CXX SOURCE_DIR MODE WORK_DIR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "check_headers: -D${v}=... is required")
  endif()
endforeach()
# Headers that need an optional target (documented in docs/getting-started.md, "Targets").
set(needs_zip io/archive.hpp io/idx.hpp io/npz.hpp io/detail/minizip.hpp io/detail/gzip.hpp data/fashion_mnist.hpp)
set(needs_png io/png.hpp)

file(GLOB_RECURSE headers RELATIVE ${SOURCE_DIR}/include/rnnabs ${SOURCE_DIR}/include/rnnabs/*.hpp)
list(FILTER headers EXCLUDE REGEX "^cuda")          # the CUDA backend is checked by its own nvcc build
list(FILTER headers EXCLUDE REGEX "detail/.*_impl\\.hpp$")  # bodies included at the end of their header
set(flags -std=c++20 -fsyntax-only -I${SOURCE_DIR}/include)
foreach(d IN LISTS INCLUDES)
  if(NOT d STREQUAL "/usr/include")  # a default directory given as -isystem breaks libstdc++'s #include_next
    list(APPEND flags -isystem ${d})
  endif()
endforeach()
if(MODE STREQUAL "full")
  list(APPEND flags -DRNNABS_HAVE_ZIP=1 -DRNNABS_HAVE_PNG=1)
endif()
file(MAKE_DIRECTORY ${WORK_DIR})
set(failed "")
set(checked 0)
foreach(h IN LISTS headers)
  set(expect_error "")
  if(MODE STREQUAL "plain" AND h IN_LIST needs_zip)
    set(expect_error "rnnabs::zip")
  elseif(MODE STREQUAL "plain" AND h IN_LIST needs_png)
    set(expect_error "rnnabs::png")
  endif()
  string(MAKE_C_IDENTIFIER ${h} stem)
  set(tu ${WORK_DIR}/${MODE}_${stem}.cpp)
  file(WRITE ${tu} "#include <rnnabs/${h}>\n")
  execute_process(COMMAND ${CXX} ${flags} ${tu} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  math(EXPR checked "${checked} + 1")
  if(expect_error)
    # Without its target the header must stop at once, with an #error that names the target to link.
    if(rc EQUAL 0 OR NOT err MATCHES "#error.*${expect_error}")
      list(APPEND failed "${h} (expected an #error naming ${expect_error})")
    endif()
  elseif(NOT rc EQUAL 0)
    string(REGEX MATCH "[^\n]*error[^\n]*" first "${err}")
    list(APPEND failed "${h}: ${first}")
  endif()
endforeach()
list(LENGTH failed n_failed)
if(n_failed GREATER 0)
  string(REPLACE ";" "\n  " text "${failed}")
  message(FATAL_ERROR "check_headers (${MODE}): ${n_failed} of ${checked} headers do not stand alone:\n  ${text}")
endif()
message(STATUS "check_headers (${MODE}): ${checked} headers compile alone")

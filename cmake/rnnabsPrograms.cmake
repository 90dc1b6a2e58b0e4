# Shared settings for the project's own programs (tests, examples, benchmarks).
find_program(RNNABS_CCACHE ccache)
if(RNNABS_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${RNNABS_CCACHE})
endif()

add_library(rnnabs_program_options INTERFACE)
target_compile_options(rnnabs_program_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
  $<$<BOOL:${RNNABS_WERROR}>:-Werror>
  $<$<BOOL:${RNNABS_NATIVE}>:-march=native>)
# GCC 12 warns about its own AVX-512 intrinsics (`__m512d __Y = __Y;` in _mm512_undefined_pd, GCC
# bug 105593, fixed in 13) wherever Eigen inlines them under -march=native; -Werror would make that fatal.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(rnnabs_program_options INTERFACE -Wno-maybe-uninitialized -Wno-uninitialized)
endif()
if(RNNABS_SANITIZE)
  # Debug + sanitizers: -O1 keeps Eigen's kernels ~10x faster than -O0 (the numeric tests stay quick)
  # while Debug keeps Eigen's range asserts (no NDEBUG); libstdc++ checks its containers too.
  target_compile_options(rnnabs_program_options INTERFACE
    -fsanitize=${RNNABS_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all
    $<$<CONFIG:Debug>:-O1 -D_GLIBCXX_ASSERTIONS>)
  target_link_options(rnnabs_program_options INTERFACE -fsanitize=${RNNABS_SANITIZE})
endif()

# rnnabs_program(name SOURCES ...) : an executable against rnnabs::zip and rnnabs::png with the project's flags.
function(rnnabs_program name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${P_SOURCES})
  target_link_libraries(${name} PRIVATE rnnabs::zip rnnabs::png rnnabs_program_options ${P_LIBS})
endfunction()

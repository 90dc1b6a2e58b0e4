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
if(RNNABS_SANITIZE)
  target_compile_options(rnnabs_program_options INTERFACE
    -fsanitize=${RNNABS_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(rnnabs_program_options INTERFACE -fsanitize=${RNNABS_SANITIZE})
endif()

# rnnabs_program(name SOURCES ...) : an executable against rnnabs::zip with the project's flags.
function(rnnabs_program name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${P_SOURCES})
  target_link_libraries(${name} PRIVATE rnnabs::zip rnnabs_program_options ${P_LIBS})
endfunction()

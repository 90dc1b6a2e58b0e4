# ctest driver of the consumer test: install the build tree to a fresh prefix, then configure, build
# and run tests/consumer against it.
#   cmake -DBUILD_DIR=... -DWORK_DIR=... -DSOURCE_DIR=... -DGENERATOR=... -DCXX=... -DVERSION=... -P run.cmake
foreach(v BUILD_DIR WORK_DIR SOURCE_DIR GENERATOR CXX VERSION)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run.cmake: -D${v}=... is required")
  endif()
endforeach()

function(step)
  string(REPLACE ";" " " _cmd "${ARGN}")
  message(STATUS "consumer: ${_cmd}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer: step failed (${rc}): ${_cmd}")
  endif()
endfunction()

set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})

step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(f include/rnnabs/core.hpp include/rnnabs/version.hpp share/cmake/rnnabs/rnnabsConfig.cmake
          share/cmake/rnnabs/rnnabsConfigVersion.cmake share/cmake/rnnabs/rnnabsTargets.cmake)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "consumer: the install lacks ${f}")
  endif()
endforeach()

# The consumer must not see the source tree: it only gets the install prefix.
step(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${build} -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX}
     -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
     -DEXPECT_rnnabs_DIR=${prefix}/share/cmake/rnnabs -DEXPECT_rnnabs_VERSION=${VERSION})
step(${CMAKE_COMMAND} --build ${build})
step(${build}/app)
step(${build}/app_zip)
execute_process(COMMAND ${build}/app_png WORKING_DIRECTORY ${build} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "consumer: app_png failed (${rc})")
endif()

# The version file rejects an incompatible request (SameMinorVersion: a newer minor or major).
string(REGEX MATCH "^([0-9]+)\\.([0-9]+)" _ ${VERSION})
math(EXPR next_minor "${CMAKE_MATCH_2} + 1")
math(EXPR next_major "${CMAKE_MATCH_1} + 1")
foreach(bad ${CMAKE_MATCH_1}.${next_minor} ${next_major}.0)
  file(MAKE_DIRECTORY ${WORK_DIR}/version-${bad})
  file(WRITE ${WORK_DIR}/version-${bad}/CMakeLists.txt
       "cmake_minimum_required(VERSION 3.25)\nproject(v LANGUAGES CXX)\nfind_package(rnnabs ${bad} CONFIG REQUIRED)\n")
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${WORK_DIR}/version-${bad} -B ${WORK_DIR}/version-${bad}/b
                          -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${prefix}
                          -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(rc EQUAL 0)
    message(FATAL_ERROR "consumer: find_package(rnnabs ${bad}) accepted version ${VERSION}")
  endif()
endforeach()
message(STATUS "consumer: ok")

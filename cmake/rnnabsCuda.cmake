# The CUDA backend (include/rnnabs/cuda/, target rnnabs::cuda). Included by the top-level
# CMakeLists.txt after the CPU targets. Sets RNNABS_CUDA (on when nvcc works, off in sanitizer
# builds) and, when on, defines rnnabs::cuda and rnnabs_cuda_program().
include(CheckLanguage)

# nvcc is not on PATH on Debian-style installs: try the toolkit's usual home.
if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
  find_program(_rnnabs_nvcc_on_path nvcc)
  if(NOT _rnnabs_nvcc_on_path)
    set(ENV{CUDACXX} /usr/local/cuda/bin/nvcc)
  endif()
endif()
set(_rnnabs_cuda_default OFF)
if(NOT RNNABS_SANITIZE)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(_rnnabs_cuda_default ON)
  endif()
endif()
option(RNNABS_CUDA "Build the CUDA backend (rnnabs::cuda) and its tests/benchmarks" ${_rnnabs_cuda_default})
option(RNNABS_CUDA_STATIC_RUNTIME "Link the CUDA runtime statically (cudart_static)" ON)
if(RNNABS_CUDA AND RNNABS_SANITIZE)
  message(STATUS "rnnabs: CUDA is off in sanitizer builds (RNNABS_SANITIZE=${RNNABS_SANITIZE})")
  set(RNNABS_CUDA OFF)
endif()
set(RNNABS_HAVE_CUDA OFF)
if(NOT RNNABS_CUDA)
  return()
endif()

# One architecture keeps CI's compile time down: sm_90 (H100/H200).
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 90)
endif()
enable_language(CUDA)
find_program(RNNABS_CUDA_CCACHE ccache)
if(RNNABS_CUDA_CCACHE AND NOT CMAKE_CUDA_COMPILER_LAUNCHER)
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${RNNABS_CUDA_CCACHE})
endif()
find_package(CUDAToolkit REQUIRED)
list(APPEND CMAKE_MODULE_PATH ${CMAKE_CURRENT_LIST_DIR})
find_package(CUDNN)
if(NOT CUDNN_FOUND)
  message(WARNING "rnnabs: cuDNN not found (set CUDNN_ROOT); the CUDA backend is off")
  set(RNNABS_CUDA OFF)
  return()
endif()
set(RNNABS_HAVE_CUDA ON)
message(STATUS "rnnabs: CUDA backend on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, arch ${CMAKE_CUDA_ARCHITECTURES}, "
               "cuDNN ${CUDNN_VERSION})")

add_library(rnnabs_cuda INTERFACE)
add_library(rnnabs::cuda ALIAS rnnabs_cuda)
set_target_properties(rnnabs_cuda PROPERTIES EXPORT_NAME cuda)
if(RNNABS_CUDA_STATIC_RUNTIME)
  set(_rnnabs_cudart CUDA::cudart_static)
else()
  set(_rnnabs_cudart CUDA::cudart)
endif()
target_link_libraries(rnnabs_cuda INTERFACE rnnabs ${_rnnabs_cudart} CUDA::cublas CUDA::cusolver CUDA::curand
                                            CUDNN::CUDNN)
# C++20 in .cu files (CMake 3.25 does not know nvcc 13's language levels, so no cuda_std_20 feature).
target_compile_options(rnnabs_cuda INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20>)
# Eigen is host-only here: EIGEN_NO_CUDA keeps its __host__ __device__ annotations (and nvcc's
# warnings about them) out of .cu files.
target_compile_definitions(rnnabs_cuda INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:EIGEN_NO_CUDA>)

install(TARGETS rnnabs_cuda EXPORT rnnabsCudaTargets)
install(EXPORT rnnabsCudaTargets NAMESPACE rnnabs:: DESTINATION ${RNNABS_CMAKE_DIR})
install(FILES ${CMAKE_CURRENT_LIST_DIR}/FindCUDNN.cmake DESTINATION ${RNNABS_CMAKE_DIR})

# rnnabs_cuda_program(name SOURCES ... [LIBS ...]): an executable of .cu sources against rnnabs::cuda +
# rnnabs::zip with the project's warning flags.
function(rnnabs_cuda_program name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${P_SOURCES})
  target_link_libraries(${name} PRIVATE rnnabs::cuda rnnabs::zip ${P_LIBS})
  # nvcc's own diagnostics become errors with RNNABS_WERROR; the host compiler gets the project's
  # warning flags through -Xcompiler (Eigen/xtensor are system headers, EIGEN_NO_CUDA above).
  set(_host -Wall -Wextra -Wshadow -Wno-sign-conversion)
  if(RNNABS_NATIVE)
    list(APPEND _host -march=native)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    list(APPEND _host -Wno-maybe-uninitialized -Wno-uninitialized)
  endif()
  if(RNNABS_WERROR)
    list(APPEND _host -Werror)
  endif()
  string(REPLACE ";" "," _host "${_host}")
  target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=${_host}>
                         $<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<BOOL:${RNNABS_WERROR}>>:--Werror=all-warnings>
                         # EDG's #128 "loop is not reachable" fires on code after an `if constexpr`
                         # branch that ends in continue/return (the CPU engine has such branches).
                         $<$<COMPILE_LANGUAGE:CUDA>:-diag-suppress=128>)
  # OpenMP for the CPU twins' host code in .cu files.
  if(OpenMP_CXX_FOUND)
    target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-fopenmp>)
  endif()
endfunction()

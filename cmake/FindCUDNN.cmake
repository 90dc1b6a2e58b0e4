# FindCUDNN: the cuDNN library and headers.
#
# Looks in CUDNN_ROOT / $ENV{CUDNN_ROOT}, the CUDA toolkit (CUDAToolkit_ROOT, /usr/local/cuda — whose
# cuDNN lives in lib/, not lib64/, on this project's machines) and the system paths.
# Defines CUDNN_FOUND, CUDNN_INCLUDE_DIR, CUDNN_LIBRARY, CUDNN_VERSION and the imported target
# CUDNN::CUDNN (the libcudnn shim, which loads cudnn_adv/ops/... itself at run time).
set(_cudnn_hints ${CUDNN_ROOT} $ENV{CUDNN_ROOT} ${CUDAToolkit_ROOT} $ENV{CUDA_PATH} /usr/local/cuda)
if(CUDAToolkit_LIBRARY_ROOT)
  list(APPEND _cudnn_hints ${CUDAToolkit_LIBRARY_ROOT})
endif()
find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${_cudnn_hints} PATH_SUFFIXES include)
find_library(CUDNN_LIBRARY NAMES cudnn HINTS ${_cudnn_hints} PATH_SUFFIXES lib lib64 lib/x64)

if(CUDNN_INCLUDE_DIR)
  foreach(_f cudnn_version.h cudnn.h)
    if(EXISTS ${CUDNN_INCLUDE_DIR}/${_f} AND NOT CUDNN_VERSION)
      file(READ ${CUDNN_INCLUDE_DIR}/${_f} _cudnn_h)
      string(REGEX MATCH "#define CUDNN_MAJOR ([0-9]+)" _m "${_cudnn_h}")
      set(_maj ${CMAKE_MATCH_1})
      string(REGEX MATCH "#define CUDNN_MINOR ([0-9]+)" _m "${_cudnn_h}")
      set(_min ${CMAKE_MATCH_1})
      string(REGEX MATCH "#define CUDNN_PATCHLEVEL ([0-9]+)" _m "${_cudnn_h}")
      set(_pat ${CMAKE_MATCH_1})
      if(_maj)
        set(CUDNN_VERSION ${_maj}.${_min}.${_pat})
      endif()
    endif()
  endforeach()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CUDNN REQUIRED_VARS CUDNN_LIBRARY CUDNN_INCLUDE_DIR VERSION_VAR CUDNN_VERSION)
mark_as_advanced(CUDNN_INCLUDE_DIR CUDNN_LIBRARY)

if(CUDNN_FOUND AND NOT TARGET CUDNN::CUDNN)
  add_library(CUDNN::CUDNN UNKNOWN IMPORTED)
  set_target_properties(CUDNN::CUDNN PROPERTIES IMPORTED_LOCATION ${CUDNN_LIBRARY}
                                                INTERFACE_INCLUDE_DIRECTORIES ${CUDNN_INCLUDE_DIR})
endif()

# smoke_demo_cache: a cached model is reused only while its record matches. Runs rnnabs_demo on a small
# slice three times against a fresh cache folder: trains (epochs 1), reuses (same options), retrains
# (epochs 2) saying which parameter differs. -DDEMO=<rnnabs_demo> -DWORK_DIR=<folder>
file(REMOVE_RECURSE ${WORK_DIR})
set(_args --train-limit 1000 --test-limit 300 --k 4,8 --max-k 20 --benign 50 --threads 2
          --cache ${WORK_DIR}/cache --out ${WORK_DIR}/out)
function(run_demo epochs expect)
  execute_process(COMMAND ${DEMO} ${_args} --epochs ${epochs} OUTPUT_VARIABLE _out ERROR_VARIABLE _err RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "rnnabs_demo --epochs ${epochs} failed (${_rc}):\n${_out}\n${_err}")
  endif()
  if(NOT "${_out}${_err}" MATCHES "${expect}")
    message(FATAL_ERROR "rnnabs_demo --epochs ${epochs}: expected '${expect}' in:\n${_out}\n${_err}")
  endif()
  message(STATUS "--epochs ${epochs}: found '${expect}'")
endfunction()
run_demo(1 "trained now \\(1 epochs")
if(NOT EXISTS ${WORK_DIR}/cache/model.rnnabs.params)
  message(FATAL_ERROR "no record ${WORK_DIR}/cache/model.rnnabs.params")
endif()
run_demo(1 "\\(cached ${WORK_DIR}/cache/model.rnnabs\\)")
run_demo(2 "epochs: '1' in the cache, '2' now; rebuilding it")

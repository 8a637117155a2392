# Runs one libFuzzer target for SECONDS on a fresh copy of its seed corpus (ctest driver).
#   cmake -DFUZZER=... -DSEEDS=... -DWORK=... -DARTIFACTS=.../ -DDICT=... -DSECONDS=N -P run_fuzzer.cmake
foreach(v FUZZER SEEDS WORK ARTIFACTS DICT SECONDS)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_fuzzer.cmake: -D${v}= is required")
  endif()
endforeach()
if(NOT EXISTS ${FUZZER})
  message(FATAL_ERROR "${FUZZER} is missing; build the dnamba_fuzzers target")
endif()
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK} ${ARTIFACTS})
file(GLOB seeds ${SEEDS}/*)
file(COPY ${seeds} DESTINATION ${WORK})
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -rss_limit_mb=1024 -timeout=10 -max_len=4096
          -print_final_stats=1 -dict=${DICT} -artifact_prefix=${ARTIFACTS} ${WORK}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (exit ${rc}); the failing input is in ${ARTIFACTS}; "
                      "reproduce with: ${FUZZER} <that file>")
endif()
message(STATUS "${FUZZER}: no crash, no sanitizer report in ${SECONDS} s")

# Runs examples/embed_fasta and `dnamba embed` on the same FASTA and checks that the two TSVs
# are the same bytes (the CLI's provenance lines aside), then prints their shape (the test's pass expression checks it).
# -DEXAMPLE -DDNAMBA -DMODEL -DFASTA -DRC -DWORK
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
execute_process(COMMAND ${EXAMPLE} ${MODEL} ${FASTA} ${WORK}/example.tsv ${RC} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "embed_fasta exited with ${rc}")
endif()
execute_process(COMMAND ${DNAMBA} embed --model ${MODEL} --input ${FASTA} --output ${WORK}/cli.tsv
                        --pool mean --rc ${RC} --device cpu --quiet RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dnamba embed exited with ${rc}")
endif()
# the CLI's table carries its provenance lines (#dnamba {...} first, #dnamba-end {...} last),
# which a library caller's table has not: the same bytes without them
file(READ ${WORK}/cli.tsv cli)
string(REGEX REPLACE "#dnamba[^\n]*\n" "" cli "${cli}")
file(WRITE ${WORK}/cli.rows.tsv "${cli}")
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK}/example.tsv ${WORK}/cli.rows.tsv RESULT_VARIABLE differ)
if(NOT differ EQUAL 0)
  message(FATAL_ERROR "${WORK}/example.tsv and ${WORK}/cli.tsv (without its #dnamba lines) differ")
endif()
file(STRINGS ${WORK}/example.tsv lines)
list(LENGTH lines n_lines)
math(EXPR rows "${n_lines} - 1")
list(GET lines 0 header)
string(REPLACE "\t" ";" columns "${header}")
list(LENGTH columns n_columns)
math(EXPR channels "${n_columns} - 5")
# values, not just a shape: the first row's first channel is a finite, non-zero number
list(GET lines 1 first)
string(REPLACE "\t" ";" first "${first}")
list(GET first 5 e0)
if(NOT e0 MATCHES "^-?[0-9]" OR e0 MATCHES "^-?0(\\.0*)?$")
  message(FATAL_ERROR "first row's e0 is '${e0}', expected a non-zero number")
endif()
message(STATUS "identical: ${rows} rows x ${channels} channels (e0 of the first row ${e0})")

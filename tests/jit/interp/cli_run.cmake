# `ckpt run` on a TorchScript archive: inputs by argument name, output_0.npy written,
# equal to what torch wrote (compared byte for byte after the .npy header is skipped
# would be too strict: the C runner checks values; here the CLI's plumbing is checked).
file(REMOVE_RECURSE ${OUT})
execute_process(COMMAND ${CKPT} run ${DIR}/lstm_script.pt --input x=${DIR}/lstm_in_x.npy
                        --output-dir ${OUT}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ckpt run failed (${rc}): ${out}${err}")
endif()
foreach(k 0 1 2)
  if(NOT EXISTS ${OUT}/output_${k}.npy)
    message(FATAL_ERROR "output_${k}.npy not written: ${out}")
  endif()
endforeach()
if(EXISTS ${OUT}/output_3.npy)
  message(FATAL_ERROR "output_3.npy written: the result flattens to 3 tensors")
endif()
# the shapes torch gave: (2, 6, 3), (2, 8), (2, 8)
if(NOT out MATCHES "output_0 +float32 \\[2, 6, 3\\]" OR NOT out MATCHES "output_2 +float32 \\[2, 8\\]")
  message(FATAL_ERROR "unexpected listing: ${out}")
endif()
# an unknown argument name and a missing tensor argument are errors naming them
execute_process(COMMAND ${CKPT} run ${DIR}/lstm_script.pt --input y=${DIR}/lstm_in_x.npy
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "no argument 'y'")
  message(FATAL_ERROR "--input y= on forward(x): ${rc} ${err}")
endif()
execute_process(COMMAND ${CKPT} run ${DIR}/lstm_script.pt
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "argument 'x' \\(Tensor\\)")
  message(FATAL_ERROR "no --input: ${rc} ${err}")
endif()

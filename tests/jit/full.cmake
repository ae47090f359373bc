# Full-model pickles (torch.save(model)): read, run, write (issue 12 item 4).
# Fixtures: tools/gen/make_jit_full.py (Debian torch 1.13).
add_executable(jit_full_test ${CMAKE_CURRENT_LIST_DIR}/full/full_test.c)
target_compile_options(jit_full_test PRIVATE ${CKPT_WARNINGS})
target_link_libraries(jit_full_test PRIVATE ckpt_testutil ckpt_static PkgConfig::DEFLATE m)
set(JIT_FULL_OUT ${CMAKE_BINARY_DIR}/jit_full_out)
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/full/full_test.c jit_full_cases
     REGEX "^TEST\\(([a-z0-9_]+)\\)")
foreach(line ${jit_full_cases})
  string(REGEX REPLACE "^TEST\\(([a-z0-9_]+)\\).*" "\\1" case ${line})
  add_test(NAME ${case} COMMAND jit_full_test ${case} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${case} PROPERTIES LABELS "jit;unit" SKIP_RETURN_CODE 77
                       ENVIRONMENT "CKPT_JIT_FULL_OUT=${JIT_FULL_OUT}")
endforeach()
set_tests_properties(test_jit_full__write test_jit_full__write_embedding test_jit_full__write_rnn
                     PROPERTIES FIXTURES_SETUP jit_full_written)
# torch.load(weights_only=False) of the pickles ckpt wrote: working modules, equal outputs
add_test(NAME jit_full_torch_load
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/full/torch_load_check.py ${JIT_FULL_OUT}
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(jit_full_torch_load PROPERTIES LABELS "jit" SKIP_RETURN_CODE 77
                     FIXTURES_REQUIRED jit_full_written)
file(MAKE_DIRECTORY ${JIT_FULL_OUT})
# ckpt extract --state-dict on full-model pickles equals torch's model.state_dict()
add_test(NAME jit_full_cli_state_dict
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/full/cli_state_dict_check.py
                 $<TARGET_FILE:ckpt> ${CMAKE_BINARY_DIR}/jit_full_cli
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(jit_full_cli_state_dict PROPERTIES LABELS "jit" SKIP_RETURN_CODE 77)
# ckpt run on full-model pickles: outputs equal torch's (1e-5)
add_test(NAME jit_full_cli_run
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/full/cli_state_dict_check.py
                 $<TARGET_FILE:ckpt> ${CMAKE_BINARY_DIR}/jit_full_cli_run run
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(jit_full_cli_run PROPERTIES LABELS "jit" SKIP_RETURN_CODE 77)

# TorchScript writer (issue 12 item 3, tswrite): ckpt_jit_save_onnx /
# ckpt_jit_save_module.  write_test.c checks the archive in C (records,
# alignment, freeze, refusals that leave no file); check_write.py loads each
# archive ckpt writes with torch 1.13's torch.jit.load, runs it against torch's
# (or ckpt's) outputs, and checks freeze and the jit.save round trip (exit 77
# when torch is absent).  Fixtures: tools/gen/make_jit_write.py.
add_executable(jit_write_test ${CMAKE_CURRENT_LIST_DIR}/write/write_test.c)
target_compile_options(jit_write_test PRIVATE ${CKPT_WARNINGS})
target_link_libraries(jit_write_test PRIVATE ckpt_testutil ckpt_static PkgConfig::DEFLATE m)
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/write/write_test.c jw_cases
     REGEX "^TEST\\(([a-z0-9_]+)\\)")
foreach(line ${jw_cases})
  string(REGEX REPLACE "^TEST\\(([a-z0-9_]+)\\).*" "\\1" case ${line})
  add_test(NAME ${case} COMMAND jit_write_test ${case} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${case} PROPERTIES LABELS "jit;unit" SKIP_RETURN_CODE 77)
endforeach()

add_executable(jit_write_tool ${CMAKE_CURRENT_LIST_DIR}/write/jit_write_tool.c)
target_compile_options(jit_write_tool PRIVATE ${CKPT_WARNINGS})
target_include_directories(jit_write_tool PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(jit_write_tool PRIVATE ckpt_static PkgConfig::DEFLATE m)
add_test(NAME jit_write_torch_check
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/write/check_write.py
                 $<TARGET_FILE:jit_write_tool> ${PROJECT_SOURCE_DIR}/tests/fixtures/jit/write
                 ${CMAKE_BINARY_DIR}/jit_write_out $<$<TARGET_EXISTS:ckpt>:$<TARGET_FILE:ckpt>>)
set_tests_properties(jit_write_torch_check PROPERTIES LABELS "jit" TIMEOUT 600
                     SKIP_RETURN_CODE 77)
# breadth: the ONNX fixtures the writer accepts (tests/fixtures/onnx) load and run
# in torch 1.13 with the outputs of `ckpt run` (refused ops are counted, not failed)
add_test(NAME jit_write_onnx_fixtures
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/write/check_onnx_fixtures.py
                 $<TARGET_FILE:jit_write_tool> $<TARGET_FILE:ckpt>
                 ${CMAKE_BINARY_DIR}/jit_write_onnx_out 100
                 ${PROJECT_SOURCE_DIR}/tests/fixtures/onnx)
set_tests_properties(jit_write_onnx_fixtures PROPERTIES LABELS "jit" TIMEOUT 900
                     SKIP_RETURN_CODE 77)

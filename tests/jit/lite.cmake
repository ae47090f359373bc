# Lite (mobile) bytecode: reader and interpreter (src/jit/lite_*.c) on the
# fixtures of tools/gen/make_jit_lite.py (torch 1.13) and the real .ptl files.
add_executable(jit_lite_test ${CMAKE_CURRENT_LIST_DIR}/lite/lite_test.c)
target_compile_options(jit_lite_test PRIVATE ${CKPT_WARNINGS})
target_link_libraries(jit_lite_test PRIVATE ckpt_testutil ckpt_static PkgConfig::DEFLATE m)
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/lite/lite_test.c lite_cases REGEX "^(TEST|FIXTURE_TEST)\\(")
foreach(line ${lite_cases})
  string(REGEX REPLACE "^[A-Z_]+\\(([a-z0-9_]+).*" "\\1" case "${line}")
  add_test(NAME ${case} COMMAND jit_lite_test ${case} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${case} PROPERTIES LABELS "jit;unit" SKIP_RETURN_CODE 77)
endforeach()
add_test(NAME test_jit_lite__real_vs_torch
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/lite/real_vs_torch.py
                 $<TARGET_FILE:jit_lite_test>
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(test_jit_lite__real_vs_torch PROPERTIES LABELS "jit" SKIP_RETURN_CODE 77)

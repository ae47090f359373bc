# jit op library (src/jit/aten_*.c): table-driven cases against torch 1.13
# (tests/fixtures/jit/aten, tools/gen/make_jit_aten.py) and error paths.
add_executable(jit_aten_test ${CMAKE_CURRENT_LIST_DIR}/aten/aten_test.c)
target_compile_options(jit_aten_test PRIVATE ${CKPT_WARNINGS})
target_link_libraries(jit_aten_test PRIVATE ckpt_testutil ckpt_static PkgConfig::DEFLATE m)
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/aten/aten_test.c jit_aten_cases
     REGEX "^TEST\\(([a-z0-9_]+)\\)")
foreach(line ${jit_aten_cases})
  string(REGEX REPLACE "^TEST\\(([a-z0-9_]+)\\).*" "\\1" case ${line})
  add_test(NAME ${case} COMMAND jit_aten_test ${case} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${case} PROPERTIES LABELS "jit;unit" SKIP_RETURN_CODE 77)
endforeach()

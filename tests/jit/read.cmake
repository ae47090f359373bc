# TorchScript reader (src/jit/ts_read*.c): the module tree and class table (C cases, label
# unit), the listing / state dict / show output of committed fixtures against what torch
# 1.13 wrote (tools/gen/make_jit_read.py), the real archives against torch live, and
# damaged archives (errors, never crashes).
add_executable(ts_read_test ${CMAKE_CURRENT_LIST_DIR}/read/ts_read_test.c)
target_compile_options(ts_read_test PRIVATE ${CKPT_WARNINGS})
target_link_libraries(ts_read_test PRIVATE ckpt_testutil ckpt_static PkgConfig::DEFLATE m)
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/read/ts_read_test.c jit_read_cases
     REGEX "^TEST\\(([a-z0-9_]+)\\)")
foreach(line ${jit_read_cases})
  string(REGEX REPLACE "^TEST\\(([a-z0-9_]+)\\).*" "\\1" case ${line})
  add_test(NAME ${case} COMMAND ts_read_test ${case} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${case} PROPERTIES LABELS "jit;unit" SKIP_RETURN_CODE 77)
endforeach()
if(TARGET ckpt)
  add_test(NAME jit_read_fixtures
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/read/check_read.py --fixtures
                   $<TARGET_FILE:ckpt> ${PROJECT_SOURCE_DIR}/tests/fixtures/jit/read)
  set_tests_properties(jit_read_fixtures PROPERTIES LABELS "jit;unit" TIMEOUT 120)
  add_test(NAME jit_read_real
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/read/check_read.py --real
                   $<TARGET_FILE:ckpt> ${PROJECT_SOURCE_DIR}/../shared/fixtures/real/torchscript
                   ${PROJECT_SOURCE_DIR}/../shared/fixtures/real/torchscript_lite)
  set_tests_properties(jit_read_real PROPERTIES LABELS "jit;interop" TIMEOUT 600
                       SKIP_RETURN_CODE 77)
  foreach(f scripted.pt quant_static.pt format1.pt lite.ptl)
    get_filename_component(h ${f} NAME_WE)
    add_test(NAME jit_read_hostile_${h}
             COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/read/check_read.py --hostile
                     $<TARGET_FILE:ckpt> ${CMAKE_CURRENT_BINARY_DIR}/jit_read_hostile/${h}
                     ${PROJECT_SOURCE_DIR}/tests/fixtures/jit/read/${f})
    set_tests_properties(jit_read_hostile_${h} PROPERTIES LABELS "jit;hostile" TIMEOUT 300)
  endforeach()
endif()

# ONNX tiers: the conformance runner over Debian's libonnx-testdata
# (tests/onnx/conformance.c).  The runner reads SequenceProto / OptionalProto
# test data with C generated from python3-onnx's onnx-data.proto (its import
# of onnx-ml.proto pointed at the onnx.proto the library is generated from).
find_file(ONNX_DATA_PROTO onnx-data.proto PATHS /usr/lib/python3/dist-packages/onnx
          NO_DEFAULT_PATH)
set(ONNX_TESTDATA_ROOT /usr/share/libonnx-testdata/data)
set(ONNX_CONF_DIRS node pytorch-converted pytorch-operator simple)
if(ONNX_DATA_PROTO)
  set(ONNX_DATA_GEN ${CMAKE_BINARY_DIR}/gen/onnxdata)
  file(READ ${ONNX_DATA_PROTO} onnx_data_text)
  string(REPLACE "import \"onnx/onnx-ml.proto\"" "import \"onnx.proto\"" onnx_data_text
         "${onnx_data_text}")
  file(WRITE ${ONNX_DATA_GEN}/onnx-data.proto "${onnx_data_text}")
  add_custom_command(
    OUTPUT ${ONNX_DATA_GEN}/onnx-data.pb-c.c ${ONNX_DATA_GEN}/onnx-data.pb-c.h
    COMMAND ${PROTOC_C} --proto_path=${ONNX_GEN_DIR} --proto_path=${ONNX_DATA_GEN}
            --c_out=${ONNX_DATA_GEN} ${ONNX_DATA_GEN}/onnx-data.proto
    DEPENDS ${ONNX_DATA_PROTO} ${ONNX_GEN_DIR}/onnx.pb-c.h
    COMMENT "protoc-c: C for onnx-data.proto (test data)")
  add_executable(onnx_conformance ${CMAKE_CURRENT_LIST_DIR}/conformance.c
                                  ${ONNX_DATA_GEN}/onnx-data.pb-c.c)
  target_include_directories(onnx_conformance PRIVATE ${ONNX_DATA_GEN} ${ONNX_GEN_DIR}
                                                      ${CMAKE_BINARY_DIR}/gen
                                                      ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(onnx_conformance PRIVATE ckpt_static PkgConfig::PROTOBUFC m)
  # the pass count of each directory may not drop below tests/onnx/conformance_min.txt
  file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/conformance_min.txt conf_min REGEX "^[a-z]")
  foreach(d ${ONNX_CONF_DIRS})
    set(minp 0)
    foreach(line ${conf_min})
      if(line MATCHES "^${d} ([0-9]+)")
        set(minp ${CMAKE_MATCH_1})
      endif()
    endforeach()
    add_test(NAME onnx_conformance_${d}
             COMMAND onnx_conformance ${ONNX_TESTDATA_ROOT} ${d} --min-pass ${minp}
                     --report ${CMAKE_BINARY_DIR}/onnx_conformance_${d}.md)
    set_tests_properties(onnx_conformance_${d} PROPERTIES LABELS "onnx" TIMEOUT 1200
                         SKIP_RETURN_CODE 77)
  endforeach()
  # shape kernels: cases the 1.12 data lacks (tests/onnx/gen_shape_cases.py, numpy reference)
  file(GLOB shape_cases LIST_DIRECTORIES true ${PROJECT_SOURCE_DIR}/tests/fixtures/onnx/shape/test_*)
  list(LENGTH shape_cases n_shape_cases)
  add_test(NAME onnx_shape_cases COMMAND onnx_conformance ${PROJECT_SOURCE_DIR}/tests/fixtures/onnx
                                         shape --min-pass ${n_shape_cases})
  set_tests_properties(onnx_shape_cases PROPERTIES LABELS "onnx")
  # model-local functions and control-flow forms the test data lacks
  # (tests/fixtures/onnx/control, tools/gen/make_onnx_function_fixtures.py): all must pass
  file(GLOB ctl_cases ${PROJECT_SOURCE_DIR}/tests/fixtures/onnx/control/test_*)
  list(LENGTH ctl_cases ctl_n)
  add_test(NAME onnx_conformance_control
           COMMAND onnx_conformance ${PROJECT_SOURCE_DIR}/tests/fixtures/onnx control
                   --min-pass ${ctl_n})
  set_tests_properties(onnx_conformance_control PROPERTIES LABELS "onnx;unit" TIMEOUT 300)
  # element-wise cases the test data lacks (tests/onnx/gen_elementwise.py): every one must pass
  file(GLOB elem_cases LIST_DIRECTORIES true
       ${PROJECT_SOURCE_DIR}/tests/fixtures/onnx/elementwise/test_*)
  list(LENGTH elem_cases elem_count)
  add_test(NAME onnx_elementwise
           COMMAND onnx_conformance ${PROJECT_SOURCE_DIR}/tests/fixtures/onnx elementwise
                   --min-pass ${elem_count})
  set_tests_properties(onnx_elementwise PROPERTIES LABELS "onnx;unit" TIMEOUT 300)
else()
  add_test(NAME onnx_conformance_node
           COMMAND sh -c "echo 'SKIPPED: onnx-data.proto not found (apt-get install python3-onnx)'; exit 77")
  set_tests_properties(onnx_conformance_node PROPERTIES LABELS "onnx" SKIP_RETURN_CODE 77)
endif()

# ckpt vs ONNX Runtime (npm onnxruntime-node, installed by scripts/ort.sh into
# .cache/ort) on synthesised inputs: the real-world models of
# ../shared/fixtures/real/onnx and the libonnx-testdata model folders
set(ORT_NODE_PATH ${PROJECT_SOURCE_DIR}/.cache/ort/node_modules)
add_executable(onnx_ort_compare ${CMAKE_CURRENT_LIST_DIR}/ort_compare.c)
target_include_directories(onnx_ort_compare PRIVATE ${PROJECT_SOURCE_DIR}/src
                                                    ${CMAKE_BINARY_DIR}/gen)
target_link_libraries(onnx_ort_compare PRIVATE ckpt_static PkgConfig::CJSON m)
set(ORT_CMP $<TARGET_FILE:onnx_ort_compare> --node-path ${ORT_NODE_PATH}
            --known ${CMAKE_CURRENT_LIST_DIR}/ort_known_diff.txt
            --script ${CMAKE_CURRENT_LIST_DIR}/ort_run.js)
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/conformance_min.txt ort_min REGEX "^ort_")
set(ort_real_min 0)
set(ort_testdata_min 0)
foreach(line ${ort_min})
  if(line MATCHES "^ort_real ([0-9]+)")
    set(ort_real_min ${CMAKE_MATCH_1})
  elseif(line MATCHES "^ort_testdata ([0-9]+)")
    set(ort_testdata_min ${CMAKE_MATCH_1})
  endif()
endforeach()
add_test(NAME onnx_ort_real
         COMMAND sh -c "[ -d \"$1\" ] || { echo \"SKIPPED: onnx_ort_real: $1 not found\"; exit 77; }; shift; exec \"$@\""
                 sh ${PROJECT_SOURCE_DIR}/../shared/fixtures/real/onnx ${ORT_CMP} --name onnx_ort_real
                 --min-equal ${ort_real_min} --report ${CMAKE_BINARY_DIR}/onnx_ort_real.md
                 ${PROJECT_SOURCE_DIR}/../shared/fixtures/real/onnx)
add_test(NAME onnx_ort_testdata
         COMMAND ${ORT_CMP} --name onnx_ort_testdata --min-equal ${ort_testdata_min}
                 --report ${CMAKE_BINARY_DIR}/onnx_ort_testdata.md
                 ${ONNX_TESTDATA_ROOT}/pytorch-converted ${ONNX_TESTDATA_ROOT}/pytorch-operator
                 ${ONNX_TESTDATA_ROOT}/simple)
set_tests_properties(onnx_ort_real onnx_ort_testdata PROPERTIES LABELS "onnx" TIMEOUT 1200
                     SKIP_RETURN_CODE 77)

# export / simplify / writer (issue 11 items 5 and 6): onnx_tool is the C side
# of the Python checks, which compare against torch 1.13, onnx.checker and
# ONNX Runtime (onnxruntime-node; scripts/ort.sh installs it, ORT_NODE_PATH /
# NODE_PATH point at its node_modules).  A check whose reference is missing
# exits 77 (skipped).
add_executable(onnx_tool ${CMAKE_CURRENT_LIST_DIR}/onnx_tool.c)
target_include_directories(onnx_tool PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(onnx_tool PRIVATE ckpt_static PkgConfig::PROTOBUFC m)
foreach(chk write export simplify)
  add_test(NAME onnx_${chk}_check
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/${chk}_check.py
                   $<TARGET_FILE:onnx_tool>)
  set_tests_properties(onnx_${chk}_check PROPERTIES LABELS "onnx" TIMEOUT 900
                       SKIP_RETURN_CODE 77)
endforeach()
# nn2 (rnn / image / signal kernels): cases libonnx-testdata does not cover, with
# expected outputs from torch 1.13 or ONNX Runtime (tests/onnx/nn2_gen_cases.py)
if(TARGET onnx_conformance)
  add_test(NAME onnx_nn2_cases
           COMMAND onnx_conformance ${CMAKE_CURRENT_LIST_DIR}/cases nn2 --min-pass 63)
  set_tests_properties(onnx_nn2_cases PROPERTIES LABELS "onnx;unit" TIMEOUT 300)
endif()
# newops: generated single-node models of the opset-23 ops and the ai.onnx.ml
# ops (tests/onnx/gen_newops_models.py, python3-onnx) compared with ORT
add_test(NAME onnx_ort_newops
         COMMAND sh -c "/usr/bin/python3 -c 'import onnx' 2>/dev/null || { echo 'SKIPPED: onnx_ort_newops: python3-onnx missing'; exit 77; }; rm -rf \"$1\" && /usr/bin/python3 \"$2\" \"$1\" && shift 2 && exec \"$@\" \"$0\""
                 ${CMAKE_BINARY_DIR}/onnx_newops_models ${CMAKE_BINARY_DIR}/onnx_newops_models
                 ${CMAKE_CURRENT_LIST_DIR}/gen_newops_models.py ${ORT_CMP} --name onnx_ort_newops --min-equal 92
                 --report ${CMAKE_BINARY_DIR}/onnx_ort_newops.md)
set_tests_properties(onnx_ort_newops PROPERTIES LABELS "onnx" TIMEOUT 1200 SKIP_RETURN_CODE 77)

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
else()
  add_test(NAME onnx_conformance_node
           COMMAND sh -c "echo 'SKIPPED: onnx-data.proto not found (apt-get install python3-onnx)'; exit 77")
  set_tests_properties(onnx_conformance_node PROPERTIES LABELS "onnx" SKIP_RETURN_CODE 77)
endif()

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

# tests/formats/gguf.cmake - GGUF read/write and ggml blocks (issue 13 item 2).
# Included from tests/CMakeLists.txt.  The C unit cases are in
# tests/unit/formats/gguf_test.c (picked up by the unit glob); here:
#  - gguf_numpy_check: Python writes GGUF files itself (struct + numpy: every
#    value type, every ggml type as raw blocks) and a second, numpy
#    implementation of the ggml block formats checks ckpt's dequantization
#    (bit for bit) and Q8_0/Q4_0 quantization (bit for bit, and error bounds);
#    byte-identical load->save round trips; hostile files refused.
#  - gguf_js_check: @huggingface/gguf (npm, scripts/gguf_js.sh) parses a
#    ckpt-written file; its metadata and tensor infos must equal ckpt's.
#    Skipped (77) when node/npm or the registry is unavailable.
add_executable(gguf_tool ${CMAKE_CURRENT_LIST_DIR}/gguf_tool.c)
target_compile_options(gguf_tool PRIVATE ${CKPT_WARNINGS})
target_compile_definitions(gguf_tool PRIVATE _POSIX_C_SOURCE=200809L)
target_include_directories(gguf_tool PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(gguf_tool PRIVATE ckpt_static PkgConfig::DEFLATE m)
add_test(NAME gguf_numpy_check
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/gguf_check.py
                 --tool $<TARGET_FILE:gguf_tool> --workdir ${CMAKE_CURRENT_BINARY_DIR}/gguf_work)
set_tests_properties(gguf_numpy_check PROPERTIES LABELS "interop" TIMEOUT 120)
add_test(NAME gguf_js_check
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/gguf_js_check.sh $<TARGET_FILE:gguf_tool>
                 ${CMAKE_CURRENT_BINARY_DIR}/gguf_js_work
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(gguf_js_check PROPERTIES LABELS "interop" TIMEOUT 300 SKIP_RETURN_CODE 77)

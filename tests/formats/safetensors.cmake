# safetensors (issue 13 item 1): the C unit cases live in tests/unit/formats/safetensors_test.c;
# here an independent reader (Python json + numpy, tests/formats/st_oracle.py) checks ckpt's
# reader on the real files, its writer byte for byte against them, and torch 1.13 interop.
add_executable(st_tool ${CMAKE_CURRENT_LIST_DIR}/st_tool.c)
target_compile_options(st_tool PRIVATE ${CKPT_WARNINGS})
target_compile_definitions(st_tool PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(st_tool PRIVATE ckpt_static m)
add_test(NAME safetensors_real_numpy_oracle
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/st_oracle.py --what real
                 --tool $<TARGET_FILE:st_tool>
                 --real ${PROJECT_SOURCE_DIR}/../shared/fixtures/real/safetensors)
set_tests_properties(safetensors_real_numpy_oracle PROPERTIES LABELS "interop;unit" TIMEOUT 120
                     SKIP_RETURN_CODE 77)
add_test(NAME safetensors_torch_interop
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/st_oracle.py --what torch
                 --tool $<TARGET_FILE:st_tool>
                 --real ${PROJECT_SOURCE_DIR}/../shared/fixtures/real/safetensors)
set_tests_properties(safetensors_torch_interop PROPERTIES LABELS "interop" TIMEOUT 120)
# names and metadata needing JSON escapes: written byte for byte as serde_json escapes them
add_test(NAME safetensors_escape_bytes
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/st_oracle.py --what escape
                 --tool $<TARGET_FILE:st_tool>
                 --real ${PROJECT_SOURCE_DIR}/../shared/fixtures/real/safetensors)
set_tests_properties(safetensors_escape_bytes PROPERTIES LABELS "interop;unit" TIMEOUT 60)
# valgrind memcheck over every safetensors unit case (0 errors, 0 bytes definitely lost)
add_test(NAME valgrind_safetensors_unit
         COMMAND valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
                 --show-leak-kinds=definite $<TARGET_FILE:safetensors_test>
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(valgrind_safetensors_unit PROPERTIES LABELS "valgrind" TIMEOUT 300
                     SKIP_RETURN_CODE 77)

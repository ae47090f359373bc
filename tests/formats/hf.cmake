# Hugging Face sharded checkpoints (issue 13 item 4, helper hf): src/store/hf.c.
# hf_test.c: C cases (round trips, laziness, hostile indexes, atomic replace);
# hf_check.py: torch 1.13 as the oracle (torch-written .bin shards + index read by
# ckpt; ckpt-written shards read by torch.load / a json+numpy safetensors reader;
# shard boundaries and the index text against a re-implementation of
# huggingface_hub's split).  Exit 77 (skipped) when torch is absent.
add_executable(hf_test ${CMAKE_CURRENT_LIST_DIR}/hf_test.c)
target_compile_options(hf_test PRIVATE ${CKPT_WARNINGS})
target_link_libraries(hf_test PRIVATE ckpt_testutil ckpt_static PkgConfig::DEFLATE m)
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/hf_test.c hf_cases REGEX "^TEST\\(([a-z0-9_]+)\\)")
foreach(line ${hf_cases})
  string(REGEX REPLACE "^TEST\\(([a-z0-9_]+)\\).*" "\\1" case ${line})
  add_test(NAME ${case} COMMAND hf_test ${case} WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${case} PROPERTIES LABELS "unit;formats" SKIP_RETURN_CODE 77)
endforeach()

add_executable(hf_tool ${CMAKE_CURRENT_LIST_DIR}/hf_tool.c)
target_compile_options(hf_tool PRIVATE ${CKPT_WARNINGS})
target_link_libraries(hf_tool PRIVATE ckpt_static PkgConfig::DEFLATE m)
add_test(NAME hf_torch_check
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/hf_check.py $<TARGET_FILE:hf_tool>
                 ${CMAKE_BINARY_DIR}/hf_check_out)
set_tests_properties(hf_torch_check PROPERTIES LABELS "formats" TIMEOUT 120 SKIP_RETURN_CODE 77)

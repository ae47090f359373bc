# torch.export (.pt2) archives (item 5 of issue 12): fixtures built from the
# spec by tools/gen/make_pt2_fixtures.py, reference outputs from torch 1.13.
add_executable(pt2_test ${CMAKE_CURRENT_LIST_DIR}/pt2/pt2_test.c)
target_compile_options(pt2_test PRIVATE ${CKPT_WARNINGS})
target_link_libraries(pt2_test PRIVATE ckpt_testutil ckpt_static PkgConfig::DEFLATE m)
set(PT2_FIXTURES ${PROJECT_SOURCE_DIR}/tests/fixtures/jit/pt2)
foreach(fx mlp mlp_pt2 mlp_v21 cnn cnn_v1 cnn_v21 misc resblock resblock_v1)
  add_test(NAME jit_pt2_read_${fx} COMMAND pt2_test read ${PT2_FIXTURES} ${fx})
  add_test(NAME jit_pt2_run_${fx} COMMAND pt2_test run ${PT2_FIXTURES} ${fx})
  set_tests_properties(jit_pt2_read_${fx} jit_pt2_run_${fx} PROPERTIES LABELS "jit;unit"
                       SKIP_RETURN_CODE 77)
endforeach()
add_test(NAME jit_pt2_hostile COMMAND pt2_test hostile ${PT2_FIXTURES})
set_tests_properties(jit_pt2_hostile PROPERTIES LABELS "jit;unit")
# the CLI on both layouts: ckpt ls lists through ckpt_jit_load, ckpt run writes output_K.npy
add_test(NAME jit_pt2_cli_ls_v1 COMMAND ckpt ls ${PT2_FIXTURES}/mlp.pt2)
set_tests_properties(jit_pt2_cli_ls_v1 PROPERTIES LABELS "jit;unit"
                     PASS_REGULAR_EXPRESSION "fc2.bias +float32 +\\[4\\].*# 4 tensors.*pt2")
add_test(NAME jit_pt2_cli_ls_pt2 COMMAND ckpt ls ${PT2_FIXTURES}/cnn.pt2)
set_tests_properties(jit_pt2_cli_ls_pt2 PROPERTIES LABELS "jit;unit"
                     PASS_REGULAR_EXPRESSION "bn.num_batches_tracked +int64 +\\[\\] +8 +buffer")
add_test(NAME jit_pt2_cli_run COMMAND ckpt run ${PT2_FIXTURES}/resblock_v1.pt2
                                      --input x=${PT2_FIXTURES}/resblock_v1.input_0.npy
                                      --output-dir ${CMAKE_CURRENT_BINARY_DIR}/pt2_cli_run)
set_tests_properties(jit_pt2_cli_run PROPERTIES LABELS "jit;unit"
                     PASS_REGULAR_EXPRESSION "output_1 +float32 +\\[2, 4, 6, 6\\]")

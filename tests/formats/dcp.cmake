# tests/formats/dcp.cmake - torch.distributed.checkpoint folders (issue 13 item 5).
# Fixtures are built at test time by gen_dcp.py with /usr/bin/python3 + torch 1.13
# following torch 2.5's DCP source (spec-only: no torch 2.x here); without torch the
# python steps and the C tests that need their fixtures exit 77 (skipped).
add_executable(dcp_test ${CMAKE_CURRENT_LIST_DIR}/dcp_test.c)
target_compile_options(dcp_test PRIVATE ${CKPT_WARNINGS})
target_compile_definitions(dcp_test PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(dcp_test PRIVATE ckpt_static PkgConfig::DEFLATE m)

set(DCP_FIX ${CMAKE_BINARY_DIR}/dcp_fixtures)
set(DCP_OUT ${CMAKE_BINARY_DIR}/dcp_written)
set(DCP_GEN ${CMAKE_CURRENT_LIST_DIR}/gen_dcp.py)
set(DCP_PY /usr/bin/python3)
add_test(NAME dcp_gen
         COMMAND sh -c "rm -rf '${DCP_FIX}' && ${DCP_PY} '${DCP_GEN}' make '${DCP_FIX}'")
set_tests_properties(dcp_gen PROPERTIES LABELS "formats;interop" TIMEOUT 120 SKIP_RETURN_CODE 77
                     FIXTURES_SETUP dcp_fixtures)
foreach(c single rows2 block4)
  add_test(NAME dcp_read_${c} COMMAND dcp_test read ${DCP_FIX} ${c})
  set_tests_properties(dcp_read_${c} PROPERTIES LABELS "formats;interop" TIMEOUT 60
                       SKIP_RETURN_CODE 77 FIXTURES_REQUIRED dcp_fixtures)
endforeach()
add_test(NAME dcp_read_box COMMAND dcp_test box ${DCP_FIX})
add_test(NAME dcp_hostile COMMAND dcp_test hostile ${DCP_FIX})
set_tests_properties(dcp_read_box dcp_hostile PROPERTIES LABELS "formats;interop" TIMEOUT 60
                     SKIP_RETURN_CODE 77 FIXTURES_REQUIRED dcp_fixtures)
add_test(NAME dcp_write COMMAND sh -c "rm -rf '${DCP_OUT}' && '$<TARGET_FILE:dcp_test>' write '${DCP_OUT}'")
set_tests_properties(dcp_write PROPERTIES LABELS "formats;unit" TIMEOUT 60
                     FIXTURES_SETUP dcp_written)
foreach(c saved ranks4 many)
  add_test(NAME dcp_torch_reads_${c}
           COMMAND ${DCP_PY} ${DCP_GEN} check ${DCP_OUT}/${c} ${DCP_OUT}/${c}.expect.pt)
  set_tests_properties(dcp_torch_reads_${c} PROPERTIES LABELS "formats;interop" TIMEOUT 60
                       SKIP_RETURN_CODE 77 FIXTURES_REQUIRED dcp_written)
endforeach()
add_test(NAME dcp_commit COMMAND sh -c "rm -rf '${CMAKE_BINARY_DIR}/dcp_commit' && '$<TARGET_FILE:dcp_test>' commit '${CMAKE_BINARY_DIR}/dcp_commit'")
set_tests_properties(dcp_commit PROPERTIES LABELS "formats;unit" TIMEOUT 60)

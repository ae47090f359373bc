# End-to-end tests of the ckpt subcommands (tests/cli/cli_test.sh), one CTest entry per
# subcommand, label "cli".  Value checks load ckpt's output with /usr/bin/python3 (torch).
if(TARGET ckpt)
  foreach(cmd show stats diff rename convert extract verify)
    add_test(NAME cli_${cmd}
             COMMAND bash ${PROJECT_SOURCE_DIR}/tests/cli/cli_test.sh $<TARGET_FILE:ckpt>
                     ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/cli_work/${cmd} ${cmd})
    set_tests_properties(cli_${cmd} PROPERTIES LABELS "cli" TIMEOUT 300)
  endforeach()
  # ONNX models: ls/show/verify/scan, run (against numpy), convert/diff (against torch 1.13)
  foreach(sec inspect run weights)
    add_test(NAME cli_onnx_${sec}
             COMMAND bash ${PROJECT_SOURCE_DIR}/tests/cli/onnx_cli_test.sh $<TARGET_FILE:ckpt>
                     ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/cli_work/onnx_${sec} ${sec})
    set_tests_properties(cli_onnx_${sec} PROPERTIES LABELS "cli" TIMEOUT 300)
  endforeach()
  # every checkpoint format: convert between every pair, ls/show/diff/verify/scan/stats/extract
  # on each, what a format cannot hold named (issue 13; torch 1.13 is the reference)
  foreach(sec matrix tools errors)
    add_test(NAME cli_formats_${sec}
             COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/cli/formats_cli_test.py
                     $<TARGET_FILE:ckpt> ${CMAKE_CURRENT_BINARY_DIR}/cli_work/formats_${sec} ${sec})
    set_tests_properties(cli_formats_${sec} PROPERTIES LABELS "cli" TIMEOUT 300)
  endforeach()
  # ckpt report: the HTML page of checkpoints, ONNX graphs, hostile keys (torch 1.13 and the
  # onnx package are the references; html.parser reads every page strictly)
  foreach(sec ckpt graph hostile)
    add_test(NAME cli_report_${sec}
             COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/cli/report_cli_test.py
                     $<TARGET_FILE:ckpt> ${PROJECT_SOURCE_DIR}
                     ${CMAKE_CURRENT_BINARY_DIR}/cli_work/report_${sec} ${sec})
    set_tests_properties(cli_report_${sec} PROPERTIES LABELS "cli" TIMEOUT 300)
  endforeach()
  # TorchScript lite archives: tensors of data.pkl and of the constants table, against the
  # listings torch 1.13 made (tests/fixtures/torchscript/make_lite.py), then against torch's
  # reader over the real files of ../shared (skipped when that folder is absent)
  foreach(lite lite_frozen lite_plain)
    add_test(NAME fixtures_torchscript_${lite}_listing
             COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/interop/lite_listing.py --expect
                     $<TARGET_FILE:ckpt> ${PROJECT_SOURCE_DIR}/tests/fixtures/torchscript/${lite}.ptl
                     ${PROJECT_SOURCE_DIR}/tests/fixtures/torchscript/${lite}.listing.json)
    set_tests_properties(fixtures_torchscript_${lite}_listing PROPERTIES LABELS "fixtures;cli"
                         TIMEOUT 60)
  endforeach()
  # packed quantized parameters named as torch.ao's eager state_dict (make_quantized.py)
  add_test(NAME fixtures_torchscript_quantized_names
           COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/interop/quant_listing.py
                   $<TARGET_FILE:ckpt> ${PROJECT_SOURCE_DIR}/tests/fixtures/torchscript)
  set_tests_properties(fixtures_torchscript_quantized_names PROPERTIES LABELS "fixtures;cli"
                       TIMEOUT 60)
  add_test(NAME fixtures_real_torchscript_lite_listing
           COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/interop/lite_listing.py --check-dir
                   $<TARGET_FILE:ckpt> ${PROJECT_SOURCE_DIR}/../shared/fixtures/real/torchscript_lite)
  set_tests_properties(fixtures_real_torchscript_lite_listing PROPERTIES
                       LABELS "fixtures;interop" TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()

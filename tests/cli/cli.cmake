# End-to-end tests of the ckpt subcommands (tests/cli/cli_test.sh), one CTest entry per
# subcommand, label "cli".  Value checks load ckpt's output with /usr/bin/python3 (torch).
if(TARGET ckpt)
  foreach(cmd show stats diff rename convert extract verify)
    add_test(NAME cli_${cmd}
             COMMAND bash ${PROJECT_SOURCE_DIR}/tests/cli/cli_test.sh $<TARGET_FILE:ckpt>
                     ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/cli_work/${cmd} ${cmd})
    set_tests_properties(cli_${cmd} PROPERTIES LABELS "cli" TIMEOUT 300)
  endforeach()
endif()

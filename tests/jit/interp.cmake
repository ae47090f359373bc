# TorchScript source interpreter (src/jit/ts_*.c) and `ckpt run` on TorchScript:
# the five models of issue 12 item 2, scripted and traced, against the outputs
# torch.jit.load(f)(*inputs) gave (tests/fixtures/jit/interp, tools/gen/make_jit_interp.py),
# hostile code that must fail cleanly, and the real archives against torch live.
add_executable(jit_interp_run ${CMAKE_CURRENT_LIST_DIR}/interp/interp_run.c)
target_compile_options(jit_interp_run PRIVATE ${CKPT_WARNINGS})
target_link_libraries(jit_interp_run PRIVATE ckpt_static PkgConfig::DEFLATE m)
set(JIT_INTERP_DIR ${PROJECT_SOURCE_DIR}/tests/fixtures/jit/interp)
foreach(model layers resnet mobilenet transformer lstm)
  foreach(kind script trace)
    add_test(NAME jit_interp_${model}_${kind}
             COMMAND jit_interp_run run ${JIT_INTERP_DIR} ${model} ${kind})
    set_tests_properties(jit_interp_${model}_${kind} PROPERTIES LABELS "jit;unit" TIMEOUT 120)
  endforeach()
endforeach()
# the Python the printer keeps (dicts, lists, while/break/continue, format, int/float/bool args)
add_test(NAME jit_interp_features_script
         COMMAND jit_interp_run run ${JIT_INTERP_DIR} features script)
set_tests_properties(jit_interp_features_script PROPERTIES LABELS "jit;unit" TIMEOUT 120)
# nn.LSTM + nn.LSTMCell (aten::lstm, aten::lstm_cell): skipped while the op library lacks them
foreach(kind script trace)
  add_test(NAME jit_interp_lstm_nn_${kind}
           COMMAND jit_interp_run run-or-skip ${JIT_INTERP_DIR} lstm_nn ${kind})
  set_tests_properties(jit_interp_lstm_nn_${kind} PROPERTIES LABELS "jit;unit" TIMEOUT 120
                       SKIP_RETURN_CODE 77)
endforeach()
# hostile code: each fails with the error it names (and a second run fails the same way)
set(jit_interp_hostile
    "nest|brackets nested too deeply" "blocks|blocks nested too deeply"
    "loop|statements executed" "raise|the model raised: AssertionError: no"
    "global|unknown global os.system" "library|torch.ops.load_library is not supported"
    "recurse|calls nested deeper than" "custom|__torch__.torch.classes.evil.Thing"
    "primraise|the model raised: ValueError: bad input" "unknownop|aten::frobnicate"
    "syntax|code/__torch__.py:8: TorchScript syntax")
foreach(h ${jit_interp_hostile})
  string(REPLACE "|" ";" hp "${h}")
  list(GET hp 0 tag)
  list(GET hp 1 text)
  add_test(NAME jit_interp_hostile_${tag}
           COMMAND jit_interp_run fail ${JIT_INTERP_DIR}/hostile_${tag}.pt
                   ${JIT_INTERP_DIR}/lstm_in_x.npy "${text}")
  set_tests_properties(jit_interp_hostile_${tag} PROPERTIES LABELS "jit;unit" TIMEOUT 300)
endforeach()
# `ckpt run` on a TorchScript archive writes output_0.npy ... equal to torch's
add_test(NAME jit_interp_cli_run
         COMMAND ${CMAKE_COMMAND} -DCKPT=$<TARGET_FILE:ckpt> -DDIR=${JIT_INTERP_DIR}
                 -DOUT=${CMAKE_CURRENT_BINARY_DIR}/jit_interp_cli
                 -P ${CMAKE_CURRENT_LIST_DIR}/interp/cli_run.cmake)
set_tests_properties(jit_interp_cli_run PROPERTIES LABELS "jit;cli" TIMEOUT 120)
# real archives (../shared/fixtures/real/torchscript*) vs torch 1.13 live; skips without them
add_test(NAME jit_interp_real
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/interp/real_run.py $<TARGET_FILE:ckpt>
                 ${PROJECT_SOURCE_DIR}/../shared/fixtures/real)
set_tests_properties(jit_interp_real PROPERTIES LABELS "jit" TIMEOUT 600 SKIP_RETURN_CODE 77)

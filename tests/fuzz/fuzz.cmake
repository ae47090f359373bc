# tests/fuzz/fuzz.cmake - fuzz harnesses (STYLE.md 3.11).
#
# Included from tests/CMakeLists.txt.  (a) Always: each harness is linked with
# standalone_driver.c using the normal compiler into fuzz_replay_<name>, and
# CTest replays tests/fuzz/corpus/<name>/ through it (label "unit").  (b) With
# clang and CKPT_BUILD_FUZZERS=ON: real libFuzzer binaries fuzz_<name> built
# with -fsanitize=fuzzer,address,undefined (run them with tests/fuzz/run.sh).
set(CKPT_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
set(CKPT_FUZZ_HARNESSES zip pickle load roundtrip scan numpy onnx onnx_run jit)
list(APPEND CKPT_FUZZ_HARNESSES ts_interp) # the TorchScript source interpreter (tsinterp)
list(APPEND CKPT_FUZZ_HARNESSES safetensors) # the safetensors reader and writer
list(APPEND CKPT_FUZZ_HARNESSES gguf) # GGUF reader (issue 13 item 2)
list(APPEND CKPT_FUZZ_HARNESSES dcp) # DCP .metadata and rank plans (store/dcp_meta.c)
list(APPEND CKPT_FUZZ_HARNESSES hf) # the Hugging Face index reader (input: the index JSON)

foreach(h ${CKPT_FUZZ_HARNESSES})
  if(NOT EXISTS ${CKPT_FUZZ_DIR}/${h}_fuzz.c)
    continue()
  endif()
  add_executable(fuzz_replay_${h} ${CKPT_FUZZ_DIR}/standalone_driver.c
                                  ${CKPT_FUZZ_DIR}/${h}_fuzz.c)
  target_compile_options(fuzz_replay_${h} PRIVATE ${CKPT_WARNINGS})
  target_compile_definitions(fuzz_replay_${h} PRIVATE _POSIX_C_SOURCE=200809L)
  target_include_directories(fuzz_replay_${h} PRIVATE ${PROJECT_SOURCE_DIR}/include
                                                      ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(fuzz_replay_${h} PRIVATE ckpt_static PkgConfig::DEFLATE m)
  if(EXISTS ${CKPT_FUZZ_DIR}/corpus/${h})
    add_test(NAME fuzz_replay_${h}
             COMMAND fuzz_replay_${h} ${CKPT_FUZZ_DIR}/corpus/${h}
             WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
    set_tests_properties(fuzz_replay_${h} PROPERTIES LABELS "unit" TIMEOUT 60)
  endif()
endforeach()

if(CKPT_BUILD_FUZZERS AND CMAKE_C_COMPILER_ID MATCHES "Clang")
  # The library objects are rebuilt with the fuzzer's coverage instrumentation.
  set(CKPT_FUZZ_FLAGS -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined -g -O1)
  file(GLOB CKPT_FUZZ_LIB_SRC ${PROJECT_SOURCE_DIR}/src/core/*.c
                              ${PROJECT_SOURCE_DIR}/src/zip/*.c
                              ${PROJECT_SOURCE_DIR}/src/pickle/*.c
                              ${PROJECT_SOURCE_DIR}/src/torch/*.c
                              ${PROJECT_SOURCE_DIR}/src/formats/*.c
                              ${PROJECT_SOURCE_DIR}/src/store/*.c
                              # the ONNX reader, its runtime and the op library it runs
                              # (scan.c also reads ONNX models through onnx_scan.c)
                              ${PROJECT_SOURCE_DIR}/src/ops/*.c
                              ${PROJECT_SOURCE_DIR}/src/graph/*.c
                              ${PROJECT_SOURCE_DIR}/src/nn/*.c
                              ${PROJECT_SOURCE_DIR}/src/onnx/*.c
                              # TorchScript, lite, full-model and torch.export readers
                              ${PROJECT_SOURCE_DIR}/src/jit/*.c)
  # the generated protobuf-c code, as the library compiles it (not instrumented)
  list(APPEND CKPT_FUZZ_LIB_SRC $<TARGET_OBJECTS:ckpt_onnx_pb>)
  add_library(ckpt_fuzzlib STATIC ${CKPT_FUZZ_LIB_SRC})
  target_include_directories(ckpt_fuzzlib PRIVATE ${CMAKE_BINARY_DIR}/gen)
  target_include_directories(ckpt_fuzzlib PUBLIC ${PROJECT_SOURCE_DIR}/include
                                          PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(ckpt_fuzzlib PRIVATE _POSIX_C_SOURCE=200809L)
  target_compile_options(ckpt_fuzzlib PRIVATE ${CKPT_FUZZ_FLAGS})
  target_link_libraries(ckpt_fuzzlib PUBLIC PkgConfig::DEFLATE PkgConfig::CJSON
                                            PkgConfig::BLAS PkgConfig::PROTOBUFC m)
  foreach(h ${CKPT_FUZZ_HARNESSES})
    if(NOT EXISTS ${CKPT_FUZZ_DIR}/${h}_fuzz.c)
      continue()
    endif()
    add_executable(fuzz_${h} ${CKPT_FUZZ_DIR}/${h}_fuzz.c)
    target_include_directories(fuzz_${h} PRIVATE ${PROJECT_SOURCE_DIR}/src)
    target_compile_definitions(fuzz_${h} PRIVATE _POSIX_C_SOURCE=200809L)
    target_compile_options(fuzz_${h} PRIVATE -fsanitize=fuzzer,address,undefined
                                             -fno-omit-frame-pointer -g -O1)
    target_link_options(fuzz_${h} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_${h} PRIVATE ckpt_fuzzlib)
  endforeach()
endif()

# ckpt convert between model formats (issue 12 item 6): tests/jit/convert/convert_check.py
# converts torch-written TorchScript / lite / full-model files to ONNX (run in ONNX Runtime)
# and to TorchScript (run in torch), and ONNX to TorchScript; needs torch and npm ORT
# (ORT_NODE_PATH, tests/onnx/onnx.cmake).
add_test(NAME jit_convert
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/convert/convert_check.py
                 $<TARGET_FILE:ckpt> ${PROJECT_SOURCE_DIR}/tests/onnx/ort_run.js
                 ${CMAKE_BINARY_DIR}/jit_convert)
set_tests_properties(jit_convert PROPERTIES LABELS "jit;interop" TIMEOUT 600 SKIP_RETURN_CODE 77
                     ENVIRONMENT "NODE_PATH=${ORT_NODE_PATH}")

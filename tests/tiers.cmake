# Tiers 2 and 3 (DESIGN.md "Tests, in tiers"): committed torch-made fixtures,
# the live differential against real PyTorch, and the real-world listing.
# Python tests use /usr/bin/python3 (Debian python3-torch 1.13); without torch
# they fail with the install command, never pass.
set(CKPT_PYTHON /usr/bin/python3)
set(CKPT_INTEROP_DIR ${PROJECT_SOURCE_DIR}/tests/interop)

add_executable(interop_tool ${CKPT_INTEROP_DIR}/interop_tool.c)
target_compile_options(interop_tool PRIVATE ${CKPT_WARNINGS})
target_compile_definitions(interop_tool PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(interop_tool PRIVATE ckpt_static m)

add_executable(listing_check ${CKPT_INTEROP_DIR}/listing_check.c)
target_compile_options(listing_check PRIVATE ${CKPT_WARNINGS})
target_compile_definitions(listing_check PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(listing_check PRIVATE PkgConfig::CJSON)

# tier 3: live differential (writes into the build tree)
set(CKPT_INTEROP_WORK ${CMAKE_CURRENT_BINARY_DIR}/interop_work)
add_test(NAME interop_zip_differential
         COMMAND ${CKPT_PYTHON} ${CKPT_INTEROP_DIR}/run_interop.py
                 --tool $<TARGET_FILE:interop_tool> --workdir ${CKPT_INTEROP_WORK})
add_test(NAME interop_allowlist
         COMMAND ${CKPT_PYTHON} ${CKPT_INTEROP_DIR}/run_interop.py --allowlist
                 --tool $<TARGET_FILE:interop_tool> --workdir ${CKPT_INTEROP_WORK})
add_test(NAME interop_legacy_differential
         COMMAND ${CKPT_PYTHON} ${CKPT_INTEROP_DIR}/legacy_differential.py
                 --tool $<TARGET_FILE:interop_tool>
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/legacy_work
                 --fixtures ${PROJECT_SOURCE_DIR}/tests/fixtures/legacy
                 --real ${PROJECT_SOURCE_DIR}/../shared/fixtures/real/torch_legacy)
# without ../shared/fixtures/real the tests that need it exit 77 (CTest "Skipped") with
# a "SKIPPED: ..." line naming the folder, after running whatever does not need it
set_tests_properties(interop_legacy_differential PROPERTIES LABELS "interop" TIMEOUT 600
                     SKIP_RETURN_CODE 77)
# numpy is the oracle for which .npy headers hold object arrays (issue 9 item 4)
if(TARGET ckpt)
  add_test(NAME interop_npy_scan_oracle
           COMMAND ${CKPT_PYTHON} ${CKPT_INTEROP_DIR}/npy_scan_oracle.py --ckpt $<TARGET_FILE:ckpt>
                   --workdir ${CMAKE_CURRENT_BINARY_DIR}/npy_oracle_work)
  set_tests_properties(interop_npy_scan_oracle PROPERTIES LABELS "interop" TIMEOUT 120)
endif()
set_tests_properties(interop_zip_differential PROPERTIES LABELS "interop" TIMEOUT 600)
set_tests_properties(interop_allowlist PROPERTIES LABELS "interop" TIMEOUT 120
                     DEPENDS interop_zip_differential)

# tier 4 listing: every zip-format torch file of the shared real-world corpus
set(CKPT_REAL_FIXTURES ${PROJECT_SOURCE_DIR}/../shared/fixtures/real)
if(TARGET ckpt)
  add_test(NAME fixtures_real_listing
           COMMAND ${CKPT_PYTHON} ${CKPT_INTEROP_DIR}/real_listing.py
                   --ckpt $<TARGET_FILE:ckpt> --dir ${CKPT_REAL_FIXTURES}/torch_zip)
  add_test(NAME fixtures_real_legacy_listing
           COMMAND ${CKPT_PYTHON} ${CKPT_INTEROP_DIR}/real_listing.py --legacy
                   --ckpt $<TARGET_FILE:ckpt> --dir ${CKPT_REAL_FIXTURES}/torch_legacy)
  # tier 2: committed fixtures, no Python at test time
  add_test(NAME fixtures_committed_listing
           COMMAND listing_check $<TARGET_FILE:ckpt> ${PROJECT_SOURCE_DIR}/tests/fixtures/torch)
else()
  # The CLI is not there yet: fail loudly instead of skipping.
  foreach(t fixtures_real_listing fixtures_real_legacy_listing
            fixtures_committed_listing)
    add_test(NAME ${t} COMMAND sh -c "echo '${t}: the ckpt CLI target (tools/ckpt) does not exist'; exit 1")
  endforeach()
endif()
set_tests_properties(fixtures_real_listing PROPERTIES LABELS "fixtures;interop" TIMEOUT 300
                     SKIP_RETURN_CODE 77)
set_tests_properties(fixtures_real_legacy_listing PROPERTIES LABELS "fixtures;interop" TIMEOUT 300
                     SKIP_RETURN_CODE 77)
set_tests_properties(fixtures_committed_listing PROPERTIES LABELS "fixtures" TIMEOUT 120)

# A checkpoint past 4 GiB, byte-identical to torch.save's (slow: make test-slow).
add_executable(zip64_tool ${CMAKE_CURRENT_SOURCE_DIR}/interop/zip64_tool.c)
target_link_libraries(zip64_tool PRIVATE ckpt_static)
add_test(NAME interop_zip64_big
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/interop/zip64_big.sh $<TARGET_FILE:zip64_tool>)
set_tests_properties(interop_zip64_big PROPERTIES LABELS "slow" TIMEOUT 900)

# models: module state_dict / load_state_dict against torch (nn_tool builds the
# module trees with raw ckpt_module_param/buffer calls from a spec file)
add_executable(nn_tool ${CKPT_INTEROP_DIR}/nn_tool.c)
target_compile_options(nn_tool PRIVATE ${CKPT_WARNINGS})
target_compile_definitions(nn_tool PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(nn_tool PRIVATE ckpt_static m)
add_test(NAME interop_nn_state_dict
         COMMAND ${CKPT_PYTHON} ${CKPT_INTEROP_DIR}/nn_state_dict.py
                 --tool $<TARGET_FILE:nn_tool> --workdir ${CMAKE_CURRENT_BINARY_DIR}/nn_work)
set_tests_properties(interop_nn_state_dict PROPERTIES LABELS "interop" TIMEOUT 600)

# nn layer library vs torch: forward equivalence both ways (tests/interop/nn_equiv.py)
add_executable(nn_equiv_tool ${CKPT_INTEROP_DIR}/nn_equiv_tool.c)
target_compile_options(nn_equiv_tool PRIVATE ${CKPT_WARNINGS})
target_compile_definitions(nn_equiv_tool PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(nn_equiv_tool PRIVATE ckpt_static m)
add_test(NAME interop_nn_equiv
         COMMAND ${CKPT_PYTHON} ${CKPT_INTEROP_DIR}/nn_equiv.py
                 --tool $<TARGET_FILE:nn_equiv_tool>
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/nn_equiv_work)
set_tests_properties(interop_nn_equiv PROPERTIES LABELS "interop" TIMEOUT 300)

# LR schedulers and GradScaler against torch 1.13 (tests/interop/sched_interop.py)
add_executable(sched_tool ${CKPT_INTEROP_DIR}/sched_tool.c)
target_compile_options(sched_tool PRIVATE ${CKPT_WARNINGS})
target_compile_definitions(sched_tool PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(sched_tool PRIVATE ckpt_static m)
add_test(NAME interop_sched
         COMMAND ${CKPT_PYTHON} ${CKPT_INTEROP_DIR}/sched_interop.py
                 --tool $<TARGET_FILE:sched_tool> --workdir ${CMAKE_CURRENT_BINARY_DIR}/sched_work)
set_tests_properties(interop_sched PROPERTIES LABELS "interop" TIMEOUT 600)

# optimizers vs torch 1.13: 20 steps on fixed gradients, resume both ways,
# byte-identical optimizer state dicts (tests/interop/optim_equiv.py)
add_executable(optim_tool ${CKPT_INTEROP_DIR}/optim_tool.c)
target_compile_options(optim_tool PRIVATE ${CKPT_WARNINGS})
target_compile_definitions(optim_tool PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(optim_tool PRIVATE ckpt_static m)
add_test(NAME interop_optim
         COMMAND ${CKPT_PYTHON} ${CKPT_INTEROP_DIR}/optim_equiv.py
                 --tool $<TARGET_FILE:optim_tool> --workdir ${CMAKE_CURRENT_BINARY_DIR}/optim_work)
set_tests_properties(interop_optim PROPERTIES LABELS "interop" TIMEOUT 600)

# training checkpoints of ckpt/train.h against torch 1.13, both directions
# (tests/interop/train_ckpt_interop.py; exits 77 when torch is missing)
add_executable(train_ckpt_tool ${CKPT_INTEROP_DIR}/train_ckpt_tool.c)
target_compile_options(train_ckpt_tool PRIVATE ${CKPT_WARNINGS})
target_compile_definitions(train_ckpt_tool PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(train_ckpt_tool PRIVATE ckpt_static m)
add_test(NAME interop_train_ckpt
         COMMAND ${CKPT_PYTHON} ${CKPT_INTEROP_DIR}/train_ckpt_interop.py
                 --tool $<TARGET_FILE:train_ckpt_tool> --workdir ${CMAKE_CURRENT_BINARY_DIR}/train_ckpt_work)
set_tests_properties(interop_train_ckpt PROPERTIES LABELS "interop" TIMEOUT 300 SKIP_RETURN_CODE 77)

# training that resumes exactly (issue 6): tests/interop/train_tool.c on the 8x8
# digits of Debian's python3-sklearn (scripts/deps.sh demo, test)
find_file(CKPT_DIGITS digits.csv.gz
          PATHS /usr/lib/python3/dist-packages/sklearn/datasets/data NO_DEFAULT_PATH)
if(NOT CKPT_DIGITS)
  set(CKPT_DIGITS /usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz)
endif()
add_executable(train_tool ${CKPT_INTEROP_DIR}/train_tool.c ${PROJECT_SOURCE_DIR}/examples/digits.c)
target_compile_options(train_tool PRIVATE ${CKPT_WARNINGS})
target_compile_definitions(train_tool PRIVATE _POSIX_C_SOURCE=200809L)
target_include_directories(train_tool PRIVATE ${PROJECT_SOURCE_DIR}/examples)
target_link_libraries(train_tool PRIVATE ckpt_static m)
set(CKPT_TRAIN_WORK ${CMAKE_CURRENT_BINARY_DIR}/train_work)
file(MAKE_DIRECTORY ${CKPT_TRAIN_WORK})
# 5a: a C run interrupted at step k and resumed from its checkpoint ends
# byte-identical to the uninterrupted run
add_test(NAME train_resume_exact
         COMMAND sh -c "for c in 'sgd step 0' 'adam step 0' 'adamw onecycle 0' 'sgd onecycle 1'; do $<TARGET_FILE:train_tool> exact ${CKPT_DIGITS} - $c 23 60 ${CKPT_TRAIN_WORK} || exit 1; done")
set_tests_properties(train_resume_exact PROPERTIES LABELS "unit" TIMEOUT 120)
# the demo CNN trained 110 steps with autograd and with the explicit kernel tier
# (ckpt/kernels.h): the parameters agree within 1e-5 relative
add_test(NAME train_tiers_agree COMMAND train_tool tiers ${CKPT_DIGITS} 100)
set_tests_properties(train_tiers_agree PROPERTIES LABELS "unit" TIMEOUT 120)
# 5b/5c: torch trains and saves, C resumes (and the reverse); results agree
# within 1e-5 relative after 50 steps (tests/interop/train_interop.py)
add_test(NAME interop_train_resume
         COMMAND ${CKPT_PYTHON} ${CKPT_INTEROP_DIR}/train_interop.py --tool $<TARGET_FILE:train_tool>
                 --data ${CKPT_DIGITS} --workdir ${CKPT_TRAIN_WORK}/interop)
set_tests_properties(interop_train_resume PROPERTIES LABELS "interop" TIMEOUT 300)
# mixed precision (issue 6): examples/train_amp.c's float16/bfloat16 MLP path with
# a GradScaler; real float16 overflow, skipped steps, backoff and growth (unit),
# and resumes across torch 1.13's CPU bfloat16 autocast (interop)
foreach(t train_amp_scaler train_amp_tool)
  add_executable(${t} ${CKPT_INTEROP_DIR}/${t}.c ${PROJECT_SOURCE_DIR}/examples/train_amp.c
                      ${PROJECT_SOURCE_DIR}/examples/digits.c)
  target_compile_options(${t} PRIVATE ${CKPT_WARNINGS})
  target_compile_definitions(${t} PRIVATE _POSIX_C_SOURCE=200809L)
  target_include_directories(${t} PRIVATE ${PROJECT_SOURCE_DIR}/examples)
  target_link_libraries(${t} PRIVATE ckpt_static m)
endforeach()
add_test(NAME train_amp_scaler COMMAND train_amp_scaler ${CKPT_DIGITS})
set_tests_properties(train_amp_scaler PROPERTIES LABELS "unit" TIMEOUT 120)
add_test(NAME interop_train_amp
         COMMAND ${CKPT_PYTHON} ${CKPT_INTEROP_DIR}/train_amp_interop.py
                 --tool $<TARGET_FILE:train_amp_tool> --data ${CKPT_DIGITS}
                 --workdir ${CKPT_TRAIN_WORK}/amp)
set_tests_properties(interop_train_amp PROPERTIES LABELS "interop" TIMEOUT 300)

# container differential (issue 9 item 4): the bytes torch's zip reader (miniz)
# and Python's tarfile resolve as data.pkl / storages / pickles, against ckpt's
# readers, over the fuzz corpora, the hostile corpus and generated tricky archives
add_executable(container_tool ${CKPT_INTEROP_DIR}/container_tool.c)
target_compile_options(container_tool PRIVATE ${CKPT_WARNINGS})
target_compile_definitions(container_tool PRIVATE _POSIX_C_SOURCE=200809L)
target_include_directories(container_tool PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(container_tool PRIVATE ckpt_static m)
add_test(NAME interop_container_differential
         COMMAND ${CKPT_PYTHON} ${CKPT_INTEROP_DIR}/container_differential.py
                 --tool $<TARGET_FILE:container_tool>
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/container_work
                 ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus ${PROJECT_SOURCE_DIR}/tests/hostile)
set_tests_properties(interop_container_differential PROPERTIES LABELS "interop" TIMEOUT 600)

# numpy as the oracle for .npy / .npz read and write (issue 13 item 3)
add_executable(numpy_tool ${CKPT_INTEROP_DIR}/numpy_tool.c)
target_compile_options(numpy_tool PRIVATE ${CKPT_WARNINGS})
target_compile_definitions(numpy_tool PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(numpy_tool PRIVATE ckpt_static m)
add_test(NAME interop_numpy_oracle
         COMMAND ${CKPT_PYTHON} ${CKPT_INTEROP_DIR}/numpy_oracle.py
                 --tool $<TARGET_FILE:numpy_tool> --workdir ${CMAKE_CURRENT_BINARY_DIR}/numpy_work
                 $<$<TARGET_EXISTS:ckpt>:--ckpt=$<TARGET_FILE:ckpt>>)
set_tests_properties(interop_numpy_oracle PROPERTIES LABELS "interop" TIMEOUT 300)

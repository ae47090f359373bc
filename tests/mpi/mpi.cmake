# Parallel DCP save and load over MPI (issue 13 item 6): ckpt-mpi with 1, 2 and 4 ranks
# (--oversubscribe), saved with N ranks and loaded with M != N, checked against torch 1.13;
# a rank that dies or fails mid-save.  Label "mpi".  Without MPI one test says why it skips.
set(CKPT_MPI_CASES save4_load2_rows_rows save2_load1_rows_rows save1_load4_rows_rows
    save4_load2_whole_whole save2_load3_rows_whole save3_load4_whole_rows rank_death rank_error)
if(TARGET ckpt-mpi AND MPIEXEC_EXECUTABLE)
  foreach(c ${CKPT_MPI_CASES})
    add_test(NAME mpi_${c}
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/mpi/mpi_test.sh ${MPIEXEC_EXECUTABLE}
                     $<TARGET_FILE:ckpt-mpi> ${CMAKE_CURRENT_BINARY_DIR}/mpi_work/${c} ${c})
    set_tests_properties(mpi_${c} PROPERTIES LABELS "mpi" TIMEOUT 60 SKIP_RETURN_CODE 77
                         PROCESSORS 2)
  endforeach()
  # ckpt/mpi.h compiles alone as C11 and C++ with MPI's include path (C++: without Open
  # MPI's deprecated C++ bindings, whose own casts fail -Werror=cast-function-type)
  get_target_property(CKPT_MPI_INC MPI::MPI_C INTERFACE_INCLUDE_DIRECTORIES)
  set(CKPT_MPI_INC_FLAGS "")
  foreach(d ${CKPT_MPI_INC})
    list(APPEND CKPT_MPI_INC_FLAGS -I${d})
  endforeach()
  add_test(NAME header_c_mpi
           COMMAND ${CMAKE_C_COMPILER} -std=c11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only
                   -I${PROJECT_SOURCE_DIR}/include ${CKPT_MPI_INC_FLAGS}
                   -include ${PROJECT_SOURCE_DIR}/include/ckpt/mpi.h
                   ${PROJECT_SOURCE_DIR}/tests/headers/tu.c)
  set_tests_properties(header_c_mpi PROPERTIES LABELS "unit;mpi")
  if(CKPT_CXX)
    add_test(NAME header_cxx_mpi
             COMMAND ${CKPT_CXX} -std=c++11 -Wall -Wextra -Werror -fsyntax-only
                     -DOMPI_SKIP_MPICXX -DMPICH_SKIP_MPICXX
                     -I${PROJECT_SOURCE_DIR}/include ${CKPT_MPI_INC_FLAGS}
                     -include ${PROJECT_SOURCE_DIR}/include/ckpt/mpi.h -x c++
                     ${PROJECT_SOURCE_DIR}/tests/headers/tu.c)
    set_tests_properties(header_cxx_mpi PROPERTIES LABELS "unit;mpi")
  endif()
else()
  add_test(NAME mpi_skipped
           COMMAND sh -c "echo 'SKIPPED: mpi: MPI (libopenmpi-dev, openmpi-bin) not found at configure time: libckpt_mpi and ckpt-mpi not built (scripts/deps.sh test)'; exit 77")
  set_tests_properties(mpi_skipped PROPERTIES LABELS "mpi" SKIP_RETURN_CODE 77)
endif()

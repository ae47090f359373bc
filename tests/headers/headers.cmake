# Each public header must compile on its own as C11 and as C++ with -Werror
# (libgit2's headertest, yyjson's compile_ansi).
file(GLOB CKPT_PUBLIC_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/ckpt/*.h)
# ckpt/mpi.h needs <mpi.h>: checked in tests/mpi/mpi.cmake with MPI's include path
list(FILTER CKPT_PUBLIC_HEADERS EXCLUDE REGEX "/mpi\\.h$")
find_program(CKPT_CXX NAMES g++ clang++)
foreach(h ${CKPT_PUBLIC_HEADERS})
  get_filename_component(hn ${h} NAME_WE)
  add_test(NAME header_c_${hn}
           COMMAND ${CMAKE_C_COMPILER} -std=c11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only
                   -I${PROJECT_SOURCE_DIR}/include -include ${h} ${PROJECT_SOURCE_DIR}/tests/headers/tu.c)
  set_tests_properties(header_c_${hn} PROPERTIES LABELS "unit")
  if(CKPT_CXX)
    add_test(NAME header_cxx_${hn}
             COMMAND ${CKPT_CXX} -std=c++11 -Wall -Wextra -Werror -fsyntax-only
                     -I${PROJECT_SOURCE_DIR}/include -include ${h} -x c++ ${PROJECT_SOURCE_DIR}/tests/headers/tu.c)
    set_tests_properties(header_cxx_${hn} PROPERTIES LABELS "unit")
  endif()
endforeach()

# MPI (optional): libckpt_mpi (src/mpi, header ckpt/mpi.h, ckpt-mpi.pc), the
# program ckpt-mpi (tools/ckpt_mpi) and the bench driver, only where CMake finds
# MPI's C bindings (Debian: libopenmpi-dev).  Without MPI the library and every
# other test build as before; tests/mpi/mpi.cmake reports the MPI tests skipped.
find_package(MPI COMPONENTS C QUIET)
if(NOT MPI_C_FOUND)
  message(STATUS "MPI not found: libckpt_mpi and ckpt-mpi are not built")
  return()
endif()
message(STATUS "MPI found (${MPI_C_LIBRARIES}): building libckpt_mpi and ckpt-mpi")

file(GLOB CKPT_MPI_SRC CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/mpi/*.c)
add_library(ckpt_mpi SHARED ${CKPT_MPI_SRC})
set_target_properties(ckpt_mpi PROPERTIES OUTPUT_NAME ckpt_mpi VERSION ${PROJECT_VERSION}
                      SOVERSION ${PROJECT_VERSION_MAJOR}
                      INSTALL_RPATH "$ORIGIN") # finds libckpt.so beside it
target_include_directories(ckpt_mpi PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                           $<INSTALL_INTERFACE:include>)
target_compile_options(ckpt_mpi PRIVATE ${CKPT_WARNINGS})
if(CKPT_WCONVERSION)
  target_compile_options(ckpt_mpi PRIVATE -Wconversion)
endif()
target_link_libraries(ckpt_mpi PUBLIC ckpt_shared MPI::MPI_C)
add_library(ckpt::ckpt_mpi ALIAS ckpt_mpi)
install(TARGETS ckpt_mpi LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/ckpt/mpi.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ckpt)

# ckpt-mpi.pc: Requires ckpt (ckpt.pc) and Open MPI's C module when pkg-config knows it
pkg_check_modules(CKPT_MPI_PC QUIET ompi-c)
if(CKPT_MPI_PC_FOUND)
  set(CKPT_MPI_PC_REQUIRES "ckpt ompi-c")
else()
  set(CKPT_MPI_PC_REQUIRES "ckpt")
endif()
set(CKPT_PC_PREFIX "@CKPT_PC_PREFIX@")
configure_file(${PROJECT_SOURCE_DIR}/cmake/ckpt-mpi.pc.in ${CMAKE_BINARY_DIR}/ckpt-mpi.pc.stage @ONLY)
install(CODE "set(CKPT_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${CMAKE_BINARY_DIR}/ckpt-mpi.pc.stage\" \"${CMAKE_BINARY_DIR}/ckpt-mpi.pc\" @ONLY)")
install(FILES ${CMAKE_BINARY_DIR}/ckpt-mpi.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

file(GLOB CKPT_MPI_TOOL_SRC CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tools/ckpt_mpi/*.c)
if(CKPT_MPI_TOOL_SRC)
  add_executable(ckpt-mpi ${CKPT_MPI_TOOL_SRC})
  target_compile_options(ckpt-mpi PRIVATE ${CKPT_WARNINGS})
  target_compile_definitions(ckpt-mpi PRIVATE _POSIX_C_SOURCE=200809L)
  target_link_libraries(ckpt-mpi PRIVATE ckpt_mpi ckpt_shared MPI::MPI_C)
  set_target_properties(ckpt-mpi PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
  install(TARGETS ckpt-mpi RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

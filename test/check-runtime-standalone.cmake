# Checks the dependency rule of the runtime: it builds with
# HAFNIA_BUILD_COMPILER=OFF, no file under runtime/ includes LLVM or MLIR,
# and its unit tests pass in that build.
file(GLOB_RECURSE runtime_sources "${SOURCE_DIR}/runtime/*.h"
     "${SOURCE_DIR}/runtime/*.cpp" "${SOURCE_DIR}/runtime/*.cc")
foreach(source IN LISTS runtime_sources)
  file(STRINGS "${source}" includes REGEX "#include [<\"](llvm|mlir)/")
  if(includes)
    message(FATAL_ERROR "${source} includes LLVM or MLIR: ${includes}")
  endif()
endforeach()

execute_process(
  COMMAND ${CMAKE_COMMAND} -G Ninja -S ${SOURCE_DIR} -B ${BINARY_DIR}
          -DCMAKE_BUILD_TYPE=Release -DHAFNIA_BUILD_COMPILER=OFF
  RESULT_VARIABLE configure_result OUTPUT_QUIET)
if(NOT configure_result EQUAL 0)
  message(FATAL_ERROR "configuring the runtime without the compiler failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BINARY_DIR}
                RESULT_VARIABLE build_result)
if(NOT build_result EQUAL 0)
  message(FATAL_ERROR "building the runtime without the compiler failed")
endif()

# The runtime's unit tests (the engine's trials and sweeps among them) pass
# without the compiler.
execute_process(COMMAND ${BINARY_DIR}/runtime/test/hafnia-runtime-tests
                        --gtest_brief=1
                RESULT_VARIABLE test_result)
if(NOT test_result EQUAL 0)
  message(FATAL_ERROR "the runtime's unit tests failed without the compiler")
endif()

# Installs the python component into PREFIX and imports it from there, with
# the build tree out of the way.
file(REMOVE_RECURSE ${PREFIX})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BINARY_DIR}
                        --prefix ${PREFIX} --component python
                RESULT_VARIABLE result OUTPUT_QUIET)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cmake --install --component python failed")
endif()
file(GLOB_RECURSE modules ${PREFIX}/__init__.py)
list(LENGTH modules count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one installed hafnia package, found: ${modules}")
endif()
get_filename_component(package ${modules} DIRECTORY)
get_filename_component(site ${package} DIRECTORY)
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env --unset=PYTHONPATH PYTHONPATH=${site}
          ${PYTHON} -c "import hafnia, sys; assert hafnia.__file__.startswith(sys.argv[1]), hafnia.__file__; print(hafnia.__file__)" ${site}
  WORKING_DIRECTORY ${PREFIX}
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "the installed package does not import from ${site}")
endif()

# The subproc tool's JSON writer (tools/json.c, header tools/json.h) as a
# library of its own: the tool links it, and so does the fuzz target
# fuzz/fuzz_json.c, which includes this file when the tool is not built.
include_guard(GLOBAL)
add_library(cli_json STATIC ${CMAKE_CURRENT_LIST_DIR}/json.c)
target_include_directories(cli_json PUBLIC ${CMAKE_CURRENT_LIST_DIR})

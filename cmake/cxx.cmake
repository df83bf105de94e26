# C++ is optional: the library is C and include/subproc.hpp is header-only,
# so only the C++ tests (tests/cpp) and example (examples/cpp_run.cpp) need
# a C++ compiler. This enables CXX when one is found that can link against
# the library this build makes, and sets SUBPROC_CXX (ON/OFF) and, when OFF,
# SUBPROC_CXX_WHY (the reason, for the skipped tests).
set(SUBPROC_CXX OFF)
set(SUBPROC_CXX_WHY "")
if(NOT (SUBPROC_TESTING OR SUBPROC_BUILD_EXAMPLES))
  set(SUBPROC_CXX_WHY "neither tests nor examples are built")
  return()
endif()

# check_language trusts a CMAKE_CXX_COMPILER that is already set (the mingw
# toolchain names x86_64-w64-mingw32-g++, which may not be installed).
if(DEFINED CMAKE_CXX_COMPILER)
  find_program(SUBPROC_CXX_COMPILER_PATH NAMES ${CMAKE_CXX_COMPILER})
  if(NOT SUBPROC_CXX_COMPILER_PATH)
    set(SUBPROC_CXX_WHY "the C++ compiler ${CMAKE_CXX_COMPILER} is not installed")
  endif()
else()
  include(CheckLanguage)
  check_language(CXX)
  if(NOT CMAKE_CXX_COMPILER)
    set(SUBPROC_CXX_WHY "no working C++ compiler found")
  endif()
endif()
if(SUBPROC_CXX_WHY)
  message(STATUS "C++ tests and example: not built (${SUBPROC_CXX_WHY})")
  return()
endif()
enable_language(CXX)

include(CheckCSourceCompiles)
include(CheckCXXSourceCompiles)
set(SUBPROC_GLIBC_PROBE "#include <stdio.h>
#ifndef __GLIBC__
#error not glibc
#endif
int main(void) { return 0; }")
check_c_source_compiles("${SUBPROC_GLIBC_PROBE}" SUBPROC_C_GLIBC)
check_cxx_source_compiles("${SUBPROC_GLIBC_PROBE}" SUBPROC_CXX_GLIBC)
check_cxx_source_compiles("#include <string>
int main() { std::string s(\"x\"); return static_cast<int>(s.size()) - 1; }"
  SUBPROC_CXX_LINKS)
if(NOT cxx_std_17 IN_LIST CMAKE_CXX_COMPILE_FEATURES)
  set(SUBPROC_CXX_WHY "${CMAKE_CXX_COMPILER} has no C++17")
elseif(NOT CMAKE_C_SIZEOF_DATA_PTR EQUAL CMAKE_CXX_SIZEOF_DATA_PTR)
  # e.g. CFLAGS=-m32 without CXXFLAGS=-m32 (.ci/i386.sh)
  set(SUBPROC_CXX_WHY "the C compiler targets ${CMAKE_C_SIZEOF_DATA_PTR}-byte pointers, the C++ compiler ${CMAKE_CXX_SIZEOF_DATA_PTR}-byte ones")
elseif((SUBPROC_C_GLIBC AND NOT SUBPROC_CXX_GLIBC) OR
       (SUBPROC_CXX_GLIBC AND NOT SUBPROC_C_GLIBC))
  # e.g. musl-gcc with the system's g++ (.ci/musl.sh)
  set(SUBPROC_CXX_WHY "the C and C++ compilers use different C libraries")
elseif(SUBPROC_SANITIZE AND NOT CMAKE_C_COMPILER_ID STREQUAL CMAKE_CXX_COMPILER_ID)
  set(SUBPROC_CXX_WHY "sanitizers with a ${CMAKE_C_COMPILER_ID} C and a ${CMAKE_CXX_COMPILER_ID} C++ compiler (set CMAKE_CXX_COMPILER to match)")
elseif(NOT SUBPROC_CXX_LINKS)
  set(SUBPROC_CXX_WHY "${CMAKE_CXX_COMPILER} cannot link a program with this build's flags")
endif()
if(SUBPROC_CXX_WHY)
  message(STATUS "C++ tests and example: not built (${SUBPROC_CXX_WHY})")
else()
  set(SUBPROC_CXX ON)
endif()

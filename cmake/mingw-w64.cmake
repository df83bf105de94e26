# Cross-compile for 64-bit Windows with mingw-w64 (Debian: gcc-mingw-w64-x86-64)
# and run the tests under Wine (Debian: wine). Used by the `mingw` preset:
#   cmake --preset mingw && cmake --build --preset mingw && ctest --preset mingw
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(SUBPROC_MINGW_PREFIX x86_64-w64-mingw32 CACHE STRING "mingw-w64 tool prefix")
set(CMAKE_C_COMPILER ${SUBPROC_MINGW_PREFIX}-gcc)
set(CMAKE_CXX_COMPILER ${SUBPROC_MINGW_PREFIX}-g++)
set(CMAKE_RC_COMPILER ${SUBPROC_MINGW_PREFIX}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${SUBPROC_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The C99 printf family (%zu, %lld) instead of msvcrt's, everywhere.
set(CMAKE_C_FLAGS_INIT "-D__USE_MINGW_ANSI_STDIO=1")
# Static libgcc and winpthread: the tests run without the mingw DLLs on the
# Wine path.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc")
# POSIX calls such as clock_gettime come from winpthread on mingw.
set(CMAKE_C_STANDARD_LIBRARIES "-lkernel32 -luser32 -ladvapi32 -lshell32 -lpthread"
    CACHE STRING "Libraries linked into every C program")

find_program(SUBPROC_WINE NAMES wine wine64)
if(SUBPROC_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${SUBPROC_WINE})
endif()

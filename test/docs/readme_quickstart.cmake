# SPDX-License-Identifier: BSL-1.0
# The README's first C++ block must be examples/00_quickstart.cpp, byte for byte: the snippet a newcomer copies
# is the program CI builds and runs against smooch-mock.
file(READ ${README} readme)
file(READ ${EXAMPLE} example)
string(FIND "${readme}" "```cpp\n" start)
if(start EQUAL -1)
  message(FATAL_ERROR "README.md has no ```cpp block")
endif()
math(EXPR start "${start} + 7")
string(SUBSTRING "${readme}" ${start} -1 rest)
string(FIND "${rest}" "```" end)
string(SUBSTRING "${rest}" 0 ${end} block)
if(NOT block STREQUAL example)
  message(FATAL_ERROR "README.md's first ```cpp block differs from examples/00_quickstart.cpp: copy the file into it")
endif()

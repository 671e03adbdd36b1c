# SPDX-License-Identifier: BSL-1.0
# Reads the version from include/smooch/version.hpp (its one source of truth) into SMOOCH_VERSION, for
# project(VERSION): the CMake package, the pkg-config files and the programs' --version then agree with the
# header. Included before project().
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/../include/smooch/version.hpp _smooch_version_lines
     REGEX "^#define SMOOCH_VERSION_(MAJOR|MINOR|PATCH|STRING) ")
set(_smooch_parts)
foreach(_part MAJOR MINOR PATCH)
  if(NOT _smooch_version_lines MATCHES "SMOOCH_VERSION_${_part} ([0-9]+)")
    message(FATAL_ERROR "include/smooch/version.hpp: no SMOOCH_VERSION_${_part}")
  endif()
  list(APPEND _smooch_parts ${CMAKE_MATCH_1})
endforeach()
list(JOIN _smooch_parts "." SMOOCH_VERSION)
if(NOT _smooch_version_lines MATCHES "SMOOCH_VERSION_STRING \"([^\"]*)\"" OR NOT CMAKE_MATCH_1 STREQUAL SMOOCH_VERSION)
  message(FATAL_ERROR "include/smooch/version.hpp: SMOOCH_VERSION_STRING must be \"${SMOOCH_VERSION}\"")
endif()
unset(_smooch_parts)
unset(_smooch_version_lines)

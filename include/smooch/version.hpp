// SPDX-License-Identifier: BSL-1.0
#pragma once
// The version of smooch-cpp. The numbers below are the one source of truth: the top-level CMakeLists.txt reads
// them into project(VERSION), so the CMake package version, the pkg-config files, every program's --version and
// smooch::version() all say the same.

#define SMOOCH_VERSION_MAJOR 0
#define SMOOCH_VERSION_MINOR 2
#define SMOOCH_VERSION_PATCH 0
/// "MAJOR.MINOR.PATCH" (CMake checks that it agrees with the three numbers).
#define SMOOCH_VERSION_STRING "0.2.0"
/// One number for #if comparisons: MAJOR * 10000 + MINOR * 100 + PATCH (0.2.0 is 200).
#define SMOOCH_VERSION (SMOOCH_VERSION_MAJOR * 10000 + SMOOCH_VERSION_MINOR * 100 + SMOOCH_VERSION_PATCH)

namespace smooch {
/// The library version, SMOOCH_VERSION_STRING of the build the library was compiled from, e.g. "0.2.0"; sent as
/// `User-Agent: smooch-cpp/<version>`.
const char* version() noexcept;
}  // namespace smooch

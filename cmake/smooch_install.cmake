# SPDX-License-Identifier: BSL-1.0
include(CMakePackageConfigHelpers)

install(DIRECTORY include/smooch DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS smooch smooch_mock smooch_dispatch smooch_redis EXPORT smoochTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS smooch-mock smooch-dispatch RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT smoochTargets NAMESPACE smooch:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/smooch)

configure_package_config_file(cmake/smoochConfig.cmake.in ${PROJECT_BINARY_DIR}/smoochConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/smooch)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/smoochConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/smoochConfig.cmake ${PROJECT_BINARY_DIR}/smoochConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/smooch)

# The programs: smooch-mock (above), smooch-bench and the libcurl peer its --compare runs, found next to it.
if(TARGET smooch-bench)
  install(TARGETS smooch-bench smooch-bench-curl-peer RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# pkg-config files for non-CMake users, relocatable: prefix is found from the .pc file's own directory.
file(RELATIVE_PATH SMOOCH_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
foreach(pc smooch smooch-mock)
  configure_file(cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/smooch)

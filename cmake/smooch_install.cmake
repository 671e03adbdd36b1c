include(CMakePackageConfigHelpers)

install(DIRECTORY include/smooch DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS smooch smooch_mock smooch_dispatch EXPORT smoochTargets
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

# SPDX-License-Identifier: BSL-1.0
# Options for the project's own targets (library, mock, tests, examples, bench), never for consumers:
# warnings (Boost headers are included as SYSTEM so they stay quiet), and Asio without its deprecated names,
# which keeps our code off them while a consumer's existing io_service code still compiles.
function(smooch_target_options target)
  target_compile_definitions(${target} PRIVATE BOOST_ASIO_NO_DEPRECATED)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion
                                             -Wshadow
                                             -Wno-missing-field-initializers)  # designated initialisers omit fields by design
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      # g++ 12 false positives when optimising: Asio's coroutine frame allocator, and std::optional<std::string>
      # members seen through inlined copies.
      target_compile_options(${target} PRIVATE -Wno-mismatched-new-delete -Wno-maybe-uninitialized)
    endif()
    if(SMOOCH_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()

# Warnings for our own targets only; Boost headers are included as SYSTEM so they stay quiet.
function(smooch_warnings target)
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

# Warnings for our own targets only; Boost headers are included as SYSTEM so they stay quiet.
function(smooch_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion
                                             -Wshadow
                                             -Wno-missing-field-initializers)  # designated initialisers omit fields by design
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      # g++ 12 false positive on Asio's coroutine frame allocator when optimising (-O1 and up).
      target_compile_options(${target} PRIVATE -Wno-mismatched-new-delete)
    endif()
    if(SMOOCH_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()

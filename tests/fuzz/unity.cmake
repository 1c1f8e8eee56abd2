# Included by scripts/hardening.sh through CMAKE_PROJECT_INCLUDE, for its
# sanitizer and fuzzing build only (the main build never sees it).
#
# That build is a unity build (CMAKE_UNITY_BUILD) to fit CI's time budget. A
# file that is not unity-clean (say, two .cpp files of one library defining the
# same constant in an anonymous namespace) breaks its unity batch; the script
# then names the library in MUTUO_NO_UNITY and configures again, and this file
# builds that library file by file, once every target is defined.
if(MUTUO_NO_UNITY)
  function(mutuo_no_unity)
    foreach(t ${MUTUO_NO_UNITY})
      if(TARGET ${t})
        set_target_properties(${t} PROPERTIES UNITY_BUILD OFF)
        message(STATUS "hardening: ${t} built without unity batches")
      endif()
    endforeach()
  endfunction()
  cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL mutuo_no_unity)
endif()


# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/tests/fuzz/fuzz_detect.c" "CMakeFiles/fuzz_detect_replay.dir/tests/fuzz/fuzz_detect.c.o" "gcc" "CMakeFiles/fuzz_detect_replay.dir/tests/fuzz/fuzz_detect.c.o.d"
  "/work/main/tests/fuzz/replay_main.c" "CMakeFiles/fuzz_detect_replay.dir/tests/fuzz/replay_main.c.o" "gcc" "CMakeFiles/fuzz_detect_replay.dir/tests/fuzz/replay_main.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/test/CMakeFiles/palisade.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")

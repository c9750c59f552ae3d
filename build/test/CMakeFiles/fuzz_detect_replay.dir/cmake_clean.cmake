file(REMOVE_RECURSE
  "CMakeFiles/fuzz_detect_replay.dir/tests/fuzz/fuzz_detect.c.o"
  "CMakeFiles/fuzz_detect_replay.dir/tests/fuzz/fuzz_detect.c.o.d"
  "CMakeFiles/fuzz_detect_replay.dir/tests/fuzz/replay_main.c.o"
  "CMakeFiles/fuzz_detect_replay.dir/tests/fuzz/replay_main.c.o.d"
  "fuzz_detect_replay"
  "fuzz_detect_replay.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/fuzz_detect_replay.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()

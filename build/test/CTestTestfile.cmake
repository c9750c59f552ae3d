# CMake generated Testfile for 
# Source directory: /work/main
# Build directory: /work/main/build/test
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[seeds/fuzz_detect]=] "/work/main/build/test/fuzz_detect_replay" "/work/main/tests/fuzz/corpus/fuzz_detect")
set_tests_properties([=[seeds/fuzz_detect]=] PROPERTIES  _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;101;add_test;/work/main/CMakeLists.txt;0;")

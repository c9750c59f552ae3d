# Empty compiler generated dependencies file for fuzz_detect_replay.
# This may be replaced when dependencies are built.

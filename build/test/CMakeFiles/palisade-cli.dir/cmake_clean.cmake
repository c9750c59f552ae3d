file(REMOVE_RECURSE
  "CMakeFiles/palisade-cli.dir/src/cli/cmd_scan.c.o"
  "CMakeFiles/palisade-cli.dir/src/cli/cmd_scan.c.o.d"
  "CMakeFiles/palisade-cli.dir/src/cli/main.c.o"
  "CMakeFiles/palisade-cli.dir/src/cli/main.c.o.d"
  "palisade"
  "palisade.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/palisade-cli.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()

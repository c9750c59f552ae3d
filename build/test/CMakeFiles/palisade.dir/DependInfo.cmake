
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/base/buf.c" "CMakeFiles/palisade.dir/src/base/buf.c.o" "gcc" "CMakeFiles/palisade.dir/src/base/buf.c.o.d"
  "/work/main/src/base/cursor.c" "CMakeFiles/palisade.dir/src/base/cursor.c.o" "gcc" "CMakeFiles/palisade.dir/src/base/cursor.c.o.d"
  "/work/main/src/base/error.c" "CMakeFiles/palisade.dir/src/base/error.c.o" "gcc" "CMakeFiles/palisade.dir/src/base/error.c.o.d"
  "/work/main/src/base/text.c" "CMakeFiles/palisade.dir/src/base/text.c.o" "gcc" "CMakeFiles/palisade.dir/src/base/text.c.o.d"
  "/work/main/src/sandbox/seccomp_scan.c" "CMakeFiles/palisade.dir/src/sandbox/seccomp_scan.c.o" "gcc" "CMakeFiles/palisade.dir/src/sandbox/seccomp_scan.c.o.d"
  "/work/main/src/scan/detect.c" "CMakeFiles/palisade.dir/src/scan/detect.c.o" "gcc" "CMakeFiles/palisade.dir/src/scan/detect.c.o.d"
  "/work/main/src/scan/finding.c" "CMakeFiles/palisade.dir/src/scan/finding.c.o" "gcc" "CMakeFiles/palisade.dir/src/scan/finding.c.o.d"
  "/work/main/src/scan/formats/archive.c" "CMakeFiles/palisade.dir/src/scan/formats/archive.c.o" "gcc" "CMakeFiles/palisade.dir/src/scan/formats/archive.c.o.d"
  "/work/main/src/scan/formats/gguf.c" "CMakeFiles/palisade.dir/src/scan/formats/gguf.c.o" "gcc" "CMakeFiles/palisade.dir/src/scan/formats/gguf.c.o.d"
  "/work/main/src/scan/formats/hdf5.c" "CMakeFiles/palisade.dir/src/scan/formats/hdf5.c.o" "gcc" "CMakeFiles/palisade.dir/src/scan/formats/hdf5.c.o.d"
  "/work/main/src/scan/formats/json.c" "CMakeFiles/palisade.dir/src/scan/formats/json.c.o" "gcc" "CMakeFiles/palisade.dir/src/scan/formats/json.c.o.d"
  "/work/main/src/scan/formats/npy.c" "CMakeFiles/palisade.dir/src/scan/formats/npy.c.o" "gcc" "CMakeFiles/palisade.dir/src/scan/formats/npy.c.o.d"
  "/work/main/src/scan/formats/onnx.c" "CMakeFiles/palisade.dir/src/scan/formats/onnx.c.o" "gcc" "CMakeFiles/palisade.dir/src/scan/formats/onnx.c.o.d"
  "/work/main/src/scan/formats/pickle.c" "CMakeFiles/palisade.dir/src/scan/formats/pickle.c.o" "gcc" "CMakeFiles/palisade.dir/src/scan/formats/pickle.c.o.d"
  "/work/main/src/scan/formats/safetensors.c" "CMakeFiles/palisade.dir/src/scan/formats/safetensors.c.o" "gcc" "CMakeFiles/palisade.dir/src/scan/formats/safetensors.c.o.d"
  "/work/main/src/scan/formats/savedmodel.c" "CMakeFiles/palisade.dir/src/scan/formats/savedmodel.c.o" "gcc" "CMakeFiles/palisade.dir/src/scan/formats/savedmodel.c.o.d"
  "/work/main/src/scan/formats/zip.c" "CMakeFiles/palisade.dir/src/scan/formats/zip.c.o" "gcc" "CMakeFiles/palisade.dir/src/scan/formats/zip.c.o.d"
  "/work/main/src/scan/policy.c" "CMakeFiles/palisade.dir/src/scan/policy.c.o" "gcc" "CMakeFiles/palisade.dir/src/scan/policy.c.o.d"
  "/work/main/src/scan/report.c" "CMakeFiles/palisade.dir/src/scan/report.c.o" "gcc" "CMakeFiles/palisade.dir/src/scan/report.c.o.d"
  "/work/main/src/scan/scan.c" "CMakeFiles/palisade.dir/src/scan/scan.c.o" "gcc" "CMakeFiles/palisade.dir/src/scan/scan.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")

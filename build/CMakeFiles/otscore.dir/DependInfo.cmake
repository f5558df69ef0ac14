
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt/reasm/dissectors/registry.c" "CMakeFiles/otscore.dir/dissectors/registry.c.o" "gcc" "CMakeFiles/otscore.dir/dissectors/registry.c.o.d"
  "/work/wt/reasm/sensor/event.c" "CMakeFiles/otscore.dir/sensor/event.c.o" "gcc" "CMakeFiles/otscore.dir/sensor/event.c.o.d"
  "/work/wt/reasm/sensor/event_json.c" "CMakeFiles/otscore.dir/sensor/event_json.c.o" "gcc" "CMakeFiles/otscore.dir/sensor/event_json.c.o.d"
  "/work/wt/reasm/sensor/jbuf.c" "CMakeFiles/otscore.dir/sensor/jbuf.c.o" "gcc" "CMakeFiles/otscore.dir/sensor/jbuf.c.o.d"
  "/work/wt/reasm/sensor/reassembly.c" "CMakeFiles/otscore.dir/sensor/reassembly.c.o" "gcc" "CMakeFiles/otscore.dir/sensor/reassembly.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")

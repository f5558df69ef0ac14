file(REMOVE_RECURSE
  "CMakeFiles/otscore.dir/dissectors/registry.c.o"
  "CMakeFiles/otscore.dir/dissectors/registry.c.o.d"
  "CMakeFiles/otscore.dir/sensor/event.c.o"
  "CMakeFiles/otscore.dir/sensor/event.c.o.d"
  "CMakeFiles/otscore.dir/sensor/event_json.c.o"
  "CMakeFiles/otscore.dir/sensor/event_json.c.o.d"
  "CMakeFiles/otscore.dir/sensor/jbuf.c.o"
  "CMakeFiles/otscore.dir/sensor/jbuf.c.o.d"
  "CMakeFiles/otscore.dir/sensor/reassembly.c.o"
  "CMakeFiles/otscore.dir/sensor/reassembly.c.o.d"
  "libotscore.a"
  "libotscore.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/otscore.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()

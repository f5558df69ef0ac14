file(REMOVE_RECURSE
  "CMakeFiles/otsensor.dir/sensor/main.c.o"
  "CMakeFiles/otsensor.dir/sensor/main.c.o.d"
  "otsensor"
  "otsensor.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/otsensor.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()

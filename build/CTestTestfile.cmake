# CMake generated Testfile for 
# Source directory: /work/wt/decode
# Build directory: /work/wt/decode/build
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.

# CMake generated Testfile for 
# Source directory: /work/wt/reasm
# Build directory: /work/wt/reasm/build
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.

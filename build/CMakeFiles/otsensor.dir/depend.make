# Empty dependencies file for otsensor.
# This may be replaced when dependencies are built.

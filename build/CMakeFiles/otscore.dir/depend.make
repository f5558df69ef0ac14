# Empty dependencies file for otscore.
# This may be replaced when dependencies are built.

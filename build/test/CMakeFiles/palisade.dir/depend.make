# Empty dependencies file for palisade.
# This may be replaced when dependencies are built.

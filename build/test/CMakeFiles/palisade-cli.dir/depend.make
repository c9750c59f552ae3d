# Empty dependencies file for palisade-cli.
# This may be replaced when dependencies are built.

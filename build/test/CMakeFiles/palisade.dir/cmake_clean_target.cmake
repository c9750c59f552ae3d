file(REMOVE_RECURSE
  "libpalisade.a"
)

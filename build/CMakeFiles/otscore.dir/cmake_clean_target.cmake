file(REMOVE_RECURSE
  "libotscore.a"
)

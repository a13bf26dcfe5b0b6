"""Domain rules. Each call is one short transaction on the store and takes plain values only,
never ``telegram`` objects, so another channel could reuse it."""

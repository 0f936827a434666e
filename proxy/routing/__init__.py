"""Market routing: pure functions and in-memory state, no I/O (see each module)."""

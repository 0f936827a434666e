"""The snapshot in the proxy: the index built from it, the store that swaps it, its sources."""

"""Seller upstreams: the pooled HTTP client (the only module that opens seller sockets) and the byte relay."""

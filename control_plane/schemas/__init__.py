"""Request and response bodies of the control-plane API (msgspec Structs).

Request bodies forbid unknown fields (a typo or a server-owned field is a 400, never
silently stored); PATCH bodies use `msgspec.UNSET` to tell "absent" from `null`.
These are API types, not wire types: the proxy never decodes them.
"""

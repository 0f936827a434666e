"""The contract between the proxy and the control plane.

Owns: the snapshot schema (what the proxy routes from), usage events, ids and
API-key formats, money units, error bodies and their codecs. Depends on msgspec
and the standard library only; imports neither `proxy` nor `control_plane`.
"""

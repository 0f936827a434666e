"""The hot path: authenticate, validate, route and relay inference requests.

Owns: the BlackSheep app served by Granian, the in-memory snapshot and its
sources, the upstream client and the byte relay. Answers from memory; its only
network call per request is the upstream one. Must not import `control_plane`
(checked by import-linter); shares only `wire` with it.
"""

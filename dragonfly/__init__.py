"""The `dragonfly` launcher: CLI, `make up`, demo data and finding local services.

Starts the proxy, control plane and fake provider as processes; imports neither
`proxy` nor `control_plane` (it only talks to them over HTTP or spawns them).
"""

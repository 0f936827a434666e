"""HTTP surface: a route table of thin handlers over `db/` and the pure checks.

`routes.py` is the one table (method, path, access, body types) that both registers
handlers and generates `/api/openapi.json`; `boundary.py` is the one place an exception
becomes a response and where every response gets its `x-request-id`.
"""

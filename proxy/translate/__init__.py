"""Format translation between the OpenAI and Anthropic dialects (pure: no I/O, no awaits).

Requests and whole responses are translated by functions (`requests`, `responses`); streams by
small state machines fed one upstream chunk at a time (`stream_to_anthropic`,
`stream_to_openai`), so a translated stream stays a stream. `usage` normalises both usage
shapes so metering sees the same numbers whichever way a request went. Nothing here imports
an HTTP library or the proxy's I/O edges.
"""

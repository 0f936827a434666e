"""Entry point: ``granian --interface asgi --loop uvloop --http 1 fake_provider.asgi:app``.

Settings come from ``DF_FAKE_*`` environment variables (:mod:`fake_provider.settings`).
"""

from __future__ import annotations

from fake_provider.app import create_app
from fake_provider.settings import load_settings

app = create_app(load_settings())

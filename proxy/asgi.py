"""Server entrypoint: `granian --interface asgi proxy.asgi:app`. The only import-time side effect."""

from proxy.app import create_app
from proxy.settings import load_settings

app = create_app(load_settings())

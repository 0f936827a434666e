"""Server entrypoint: `granian --interface asgi control_plane.asgi:app`."""

from control_plane.app import create_app
from control_plane.settings import load_settings

app = create_app(load_settings())

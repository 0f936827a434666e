"""Server entrypoint: `granian --interface asgi control_plane.asgi:app`. Import-time side effects:
this process group's metrics directory (`wire.metrics_dir`, before prometheus_client loads), the app."""

from wire import metrics_dir

metrics_dir.prepare("control-plane")

from control_plane.app import create_app  # noqa: E402
from control_plane.settings import load_settings  # noqa: E402

app = create_app(load_settings())

"""Server entrypoint: `granian --interface asgi proxy.asgi:app`. The only import-time side effects:
this process group's metrics directory (`wire.metrics_dir`, before prometheus_client loads), the app."""

from wire import metrics_dir

metrics_dir.prepare("proxy")

from proxy.app import create_app  # noqa: E402
from proxy.settings import load_settings  # noqa: E402

app = create_app(load_settings())

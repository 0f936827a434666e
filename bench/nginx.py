"""nginx configurations: the canned upstream and the proxy_pass one-hop reference (private prefix dirs)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bench.canned import completion_json, sse_stream

_COMMON = """\
daemon off;
master_process on;
worker_processes 1;
{user}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 8192; multi_accept on; }}
"""

_HTTP = """\
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    server_tokens off;
{body}
}}
"""


def ensure_tools() -> None:
    """wrk and nginx from apt when missing (needs root; one `apt-get update`)."""
    missing = [tool for tool in ("wrk", "nginx") if shutil.which(tool) is None
               and not Path(f"/usr/sbin/{tool}").exists()]
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit(f"bench needs {' '.join(missing)}: run `sudo apt-get install -y wrk nginx` first")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "wrk", "nginx"], check=True, env=env)


def nginx_bin() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def _quote(body: bytes) -> str:
    text = body.decode()
    if "$" in text:
        raise ValueError("canned bodies must not contain `$` (nginx would read it as a variable)")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _head(prefix: Path) -> str:
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    user = "user root root;" if os.geteuid() == 0 else ""
    return _COMMON.format(prefix=prefix, user=user)


def canned_upstream_conf(prefix: Path, port: int) -> Path:
    """POST /v1/chat/completions -> a fixed completion; POST /sse/v1/chat/completions -> a 50-chunk stream.

    The stream (~11 KB) is too long for an nginx config string, so it is a file served through `error_page`.
    """
    body = f"""\
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location = /health {{ return 200 'ok'; }}
        location = /v1/chat/completions {{
            default_type application/json;
            return 200 {_quote(completion_json())};
        }}
        location = /sse/v1/chat/completions {{
            # static files answer POST with 405; the error page turns it into a GET of the canned stream
            error_page 405 =200 /sse-body;
            return 405;
        }}
        location = /sse-body {{
            internal;
            default_type text/event-stream;
            open_file_cache max=8;
            alias {prefix}/sse.txt;
        }}
    }}"""
    (prefix / "sse.txt").write_bytes(sse_stream(50))
    path = prefix / "nginx.conf"
    path.write_text(_head(prefix) + _HTTP.format(prefix=prefix, body=body))
    return path


def proxy_conf(prefix: Path, port: int, canned_port: int, fake_port: int) -> Path:
    """proxy_pass with a keepalive pool: `/` -> canned upstream, `/fp/` -> the fake provider (unbuffered)."""
    body = f"""\
    upstream canned {{ server 127.0.0.1:{canned_port}; keepalive 256; keepalive_requests 10000000; }}
    upstream fake {{ server 127.0.0.1:{fake_port}; keepalive 256; keepalive_requests 10000000; }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location = /health {{ return 200 'ok'; }}
        location /fp/ {{
            proxy_pass http://fake/;
            proxy_buffering off;
            proxy_read_timeout 600s;
        }}
        location /sse/ {{
            proxy_pass http://canned;
            proxy_buffering off;
        }}
        location / {{ proxy_pass http://canned; }}
    }}"""
    path = prefix / "nginx.conf"
    path.write_text(_head(prefix) + _HTTP.format(prefix=prefix, body=body))
    return path


def nginx_cmd(conf: Path) -> list[str]:
    return [nginx_bin(), "-p", str(conf.parent), "-e", str(conf.parent / "error.log"), "-c", str(conf)]

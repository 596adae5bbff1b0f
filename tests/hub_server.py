"""A local stand-in for the Hugging Face Hub's file endpoints, so Hub loading is tested without a network.

It answers ``HEAD``/``GET /{repo_id}/resolve/{revision}/{filename}`` the way huggingface.co does for
``hf_hub_download``: ``X-Repo-Commit``, an ``ETag`` (git blob sha1 for regular files; sha256 plus
``X-Linked-Etag``/``X-Linked-Size`` for LFS files such as safetensors), ``Content-Length``, and 404s tagged
with ``X-Error-Code``. LFS files are served directly instead of through a CDN redirect, and no ``X-Xet-*``
headers are sent, so the client takes the plain HTTP download path. ``/api/...`` routes are not served:
genrepair only calls ``hf_hub_download``.
"""

from __future__ import annotations

import hashlib
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import torch

COMMIT = "c0ffee0123456789abcdef0123456789abcdef01"
LFS_SUFFIXES = (".safetensors", ".bin")
MODES = ("ok", "error", "hang")  # normal answers; HTTP 500 to everything; accept and never answer
_RESOLVE = re.compile(r"/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)")


class HubServer:
    """Serve ``repos`` (repo id -> local folder) on 127.0.0.1; record every request in ``requests``."""

    def __init__(self, repos: dict[str, Path] | None = None) -> None:
        self.repos = dict(repos or {})
        self.mode = "ok"
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.stopped = threading.Event()  # releases handlers that are hanging
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.hub = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> HubServer:
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def count(self, method: str, filename: str = "") -> int:
        """How many ``method`` requests (for paths ending in ``filename``) the server has seen."""
        return sum(m == method and p.endswith(filename) for m, p in self.requests)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(with_body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(with_body=True)

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _answer(self, with_body: bool) -> None:
        hub: HubServer = self.server.hub  # type: ignore[attr-defined]
        hub.requests.append((self.command, self.path))  # list.append is atomic under the GIL
        if hub.mode == "hang":
            hub.stopped.wait(timeout=120)  # bounded: the server's exit releases it
            self.close_connection = True
            return
        if hub.mode == "error":
            return self._send(500, {"X-Error-Message": "Internal Error"})
        m = _RESOLVE.fullmatch(unquote(urlsplit(self.path).path))
        folder = hub.repos.get(m["repo"]) if m else None
        if folder is None:
            return self._send(404, {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"})
        if m["rev"] not in ("main", COMMIT):
            return self._send(404, {"X-Error-Code": "RevisionNotFound", "X-Error-Message": "Invalid rev id"})
        file = folder / m["file"]
        if ".." in Path(m["file"]).parts or not file.is_file():
            return self._send(404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT})
        data = file.read_bytes()
        headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{git_sha1(data)}"', "Content-Type": "application/octet-stream"}
        if file.suffix in LFS_SUFFIXES:
            sha = hashlib.sha256(data).hexdigest()
            headers |= {"ETag": f'"{sha}"', "X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(len(data))}
        self._send(200, headers, data, with_body)

    def _send(self, code: int, headers: dict[str, str], body: bytes = b"", with_body: bool = True) -> None:
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body and body:
            self.wfile.write(body)


def git_sha1(data: bytes) -> str:
    """The id git gives a blob, which the Hub sends as the ETag of regular (non-LFS) files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def hub_env(monkeypatch, tmp_path: Path, endpoint: str) -> tuple[Path, Path]:
    """Point genrepair and huggingface_hub at ``endpoint`` and at empty temp folders; return (weights, cache).

    Settings are environment variables because genrepair.hub reads them at call time. The one import-time
    constant that matters, ``HF_HUB_OFFLINE``, is reset in case the test process was started offline.
    """
    from huggingface_hub import constants

    weights, cache = tmp_path / "weights", tmp_path / "hf-cache"
    weights.mkdir()
    monkeypatch.setenv("GENREPAIR_WEIGHTS", str(weights))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_HUB_ETAG_TIMEOUT", "1")
    for var in ("HF_HUB_OFFLINE", "GENREPAIR_PREFER_HUB", "GENREPAIR_ALLOW_ANY_REPO", "GENREPAIR_DEVICE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return weights, cache


def tiny_model(folder: Path) -> torch.nn.Module:
    """Save a tiny ``NoiseCondUNet`` (the class of the ``denoise.color`` entry) to ``folder``; return it."""
    from genrepair import save_model
    from genrepair.models import NoiseCondUNet

    torch.manual_seed(0)
    model = NoiseCondUNet(channels=[4, 8], nb=1).eval()
    save_model(model, folder, card="tiny test model\n")
    return model


def same_output(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    """Whether two denoisers give the same outputs on a fixed input (to float rounding: a model from
    ``load_model`` may hold its weights channels-last, which reorders the sums)."""
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        return torch.allclose(a(x, 0.1), b(x, 0.1), rtol=0, atol=1e-5)

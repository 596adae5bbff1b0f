"""Shared by the app tests (gradio_client and browser): import app.py offline and launch it on loopback."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a missing model fails at once instead of retrying the Hub
# a private upload cache: another Gradio server on this machine (sharing /tmp/gradio) must not serve,
# refuse (403) or expire our files
os.environ.setdefault("GRADIO_TEMP_DIR", tempfile.mkdtemp(prefix="genrepair-test-gradio-"))
sys.path.insert(0, str(REPO))  # app.py lives at the repo root

app = pytest.importorskip("app")


def needs(name: str) -> None:
    if not app.has_weights(name):
        pytest.skip(f"bundled weights weights/{name}/ are missing (not trained or converted yet)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app() -> Iterator[str]:
    """The app on a free 127.0.0.1 port; yields its URL and closes it afterwards."""
    _, url, _ = app.demo.queue().launch(
        prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True
    )
    try:
        yield url
    finally:
        app.demo.close()

"""`genrepair push`: what it sends to the Hub API, and what it refuses before sending anything."""

from __future__ import annotations

import shutil
from fnmatch import fnmatch
from pathlib import Path

import pytest

from genrepair.cli import main

pytestmark = pytest.mark.usefixtures("isolated_env")


class FakeApi:
    calls: list[tuple] = []

    def create_repo(self, repo_id, exist_ok=False, private=False):
        FakeApi.calls.append(("create_repo", repo_id, exist_ok, private))

    def upload_folder(self, folder_path, repo_id, commit_message, allow_patterns=None):
        names = sorted(p.name for p in Path(folder_path).iterdir())
        sent = [n for n in names if allow_patterns is None or any(fnmatch(n, p) for p in allow_patterns)]
        FakeApi.calls.append(("upload_folder", sent, repo_id))
        return type("Info", (), {"commit_url": f"https://hub.example/{repo_id}/commit/abc"})()


@pytest.fixture
def fake_api(monkeypatch):
    import huggingface_hub

    FakeApi.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    return FakeApi


def test_push_uploads_the_model_files_only(model_dirs, fake_api, capsys, tmp_path) -> None:
    folder = Path(shutil.copytree(model_dirs["denoise"], tmp_path / "m"))
    (folder / "README.md").write_text("# card\n")
    (folder / "original.pth").write_bytes(b"the source pickle, never published")
    (folder / "notes.txt").write_text("private")
    assert main(["push", str(folder), "--repo-id", "me/denoise-color"]) == 0
    assert fake_api.calls[0] == ("create_repo", "me/denoise-color", True, False)
    assert fake_api.calls[1] == ("upload_folder", ["README.md", "config.json", "model.safetensors"], "me/denoise-color")
    assert "me/denoise-color/commit/abc" in capsys.readouterr().out


def test_push_refuses_a_folder_without_weights(tmp_path: Path, fake_api, capsys) -> None:
    (tmp_path / "config.json").write_text("{}")
    assert main(["push", str(tmp_path), "--repo-id", "me/x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing model.safetensors" in err
    assert main(["push", str(tmp_path / "nofolder"), "--repo-id", "me/x"]) == 2
    assert "nofolder: no such folder" in capsys.readouterr().err
    assert fake_api.calls == []


class DeadApi(FakeApi):
    error: Exception = ConnectionError("[Errno 111] Connection refused")

    def create_repo(self, repo_id, exist_ok=False, private=False):
        raise DeadApi.error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ConnectionError("[Errno 111] Connection refused"), "ConnectionError: [Errno 111] Connection refused"),
        (RuntimeError("Client error '401 Unauthorized' for url"), "log in with `hf auth login` or set HF_TOKEN"),
    ],
)
def test_push_failures_are_one_line(model_dirs, monkeypatch, capsys, error, expected) -> None:
    import huggingface_hub

    DeadApi.error = error
    monkeypatch.setattr(huggingface_hub, "HfApi", DeadApi)
    (model_dirs["denoise"] / "README.md").write_text("# card\n")
    assert main(["push", str(model_dirs["denoise"]), "--repo-id", "me/x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("genrepair: error: push to me/x failed") and expected in err


def test_push_gives_up_on_a_hub_that_never_answers(model_dirs, monkeypatch, capsys) -> None:
    """A server that accepts the connection and stays silent: push stops after --timeout, one line, exit 2."""
    import socket
    import time

    import huggingface_hub

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel accepts connections; nobody ever reads or answers them
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    # online for this test, whatever an earlier import of huggingface_hub read from HF_HUB_OFFLINE
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    (model_dirs["denoise"] / "README.md").write_text("# card\n")
    start = time.monotonic()
    try:
        assert main(["push", str(model_dirs["denoise"]), "--repo-id", "me/x", "--timeout", "1"]) == 2
    finally:
        silent.close()
        huggingface_hub.get_session().timeout = None  # the shared client, as other tests expect it
    assert time.monotonic() - start < 30
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "push to me/x failed" in err and "Timeout" in err


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        ("lfs", r"model\.safetensors is a Git LFS pointer, not the weights"),
        ("config", r"config\.json is unreadable"),
        ("weights", r"'m' from folder .* does not load as NoiseCondUNet: config\.json does not match the weights"),
    ],
)
def test_push_refuses_a_folder_that_does_not_load(model_dirs, fake_api, capsys, tmp_path, spoil, expected) -> None:
    """A clone without git-lfs, a broken config.json, another model's weights: each was published as it was."""
    import re

    folder = Path(shutil.copytree(model_dirs["denoise"], tmp_path / "m"))
    (folder / "README.md").write_text("# card\n")
    if spoil == "lfs":
        (folder / "model.safetensors").write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:0\n")
    elif spoil == "config":
        (folder / "config.json").write_text("{")
    else:
        shutil.copy(model_dirs["inpaint"] / "model.safetensors", folder / "model.safetensors")
    assert main(["push", str(folder), "--repo-id", "me/x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"genrepair: error: refusing to push {folder}: ")
    assert re.search(expected, err), err
    assert fake_api.calls == []  # refused before any network call

"""Hub loading when things go wrong: a failing, hanging or absent Hub, a corrupt cache, odd folders."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from hub_server import HubServer, closed_port_url, hub_env, same_output, tiny_model

from genrepair import ModelLoadError, load_model
from genrepair.registry import REGISTRY

NAME = "denoise.color"
REPO = REGISTRY[NAME].repo_id
BOUND_S = 15  # a dead Hub must cost seconds, not huggingface_hub's minute of retries


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    folder = tmp_path / "repo"
    return folder, tiny_model(folder)


@pytest.fixture
def hub(repo, tmp_path: Path, monkeypatch) -> Iterator[HubServer]:
    with HubServer({REPO: repo[0]}) as server:
        hub_env(monkeypatch, tmp_path, server.url)
        yield server


def _break(hub: HubServer, how: str, monkeypatch) -> None:
    """Make the Hub answer 500, hang, or vanish (nothing listening on the endpoint's port)."""
    if how == "unreachable":
        monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    else:
        hub.mode = how


@pytest.mark.parametrize("how", ["error", "hang", "unreachable"])
def test_prefer_hub_falls_back_to_bundled_in_bounded_time(hub, repo, tmp_path, monkeypatch, caplog, how) -> None:
    shutil.copytree(repo[0], tmp_path / "weights" / NAME)
    monkeypatch.setenv("GENREPAIR_PREFER_HUB", "1")
    _break(hub, how, monkeypatch)
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="genrepair"):
        model = load_model(NAME, device="cpu")
    assert time.monotonic() - start < BOUND_S
    assert model.genrepair_source.endswith("(Hub unavailable)")
    assert same_output(model, repo[1])
    warning = next(r.getMessage() for r in caplog.records if r.name == "genrepair" and r.levelno == logging.WARNING)
    assert "Hub unavailable, falling back to bundled" in warning and "Hub download" in warning


@pytest.mark.parametrize("how", ["error", "hang", "unreachable"])
def test_dead_hub_without_fallback_fails_fast_and_says_why(hub, monkeypatch, how) -> None:
    _break(hub, how, monkeypatch)
    start = time.monotonic()
    with pytest.raises(ModelLoadError, match="Hub download http://127.0.0.1") as err:
        load_model(NAME, device="cpu")
    assert time.monotonic() - start < BOUND_S
    reason = {"error": "500", "hang": "Timeout", "unreachable": "ConnectError"}[how]
    assert reason in str(err.value)


def _blob(cache: Path) -> Path:
    """The cached model.safetensors blob (the snapshot entry is a symlink to it)."""
    return next((cache / "models--genrepair--denoise-color" / "snapshots").glob("*/model.safetensors")).resolve()


def _corrupt(blob: Path, how: str) -> None:
    data = bytearray(blob.read_bytes())
    if how == "truncate":
        data = data[: len(data) // 2]
    else:  # flip one byte of tensor data: the file still parses, only the hash can tell
        data[-1] ^= 0xFF
    blob.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncate", "flip"])
def test_corrupt_cache_is_detected_and_fetched_again(hub, repo, tmp_path, caplog, how) -> None:
    load_model(NAME, device="cpu")
    blob = _blob(tmp_path / "hf-cache")
    _corrupt(blob, how)
    with caplog.at_level(logging.WARNING, logger="genrepair"):
        model = load_model(NAME, device="cpu")
    assert hub.count("GET", "model.safetensors") == 2
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
    assert same_output(model, repo[1])
    assert "fails its sha256 check" in caplog.text


def test_corrupt_cache_offline_is_reported(hub, tmp_path, monkeypatch) -> None:
    load_model(NAME, device="cpu")
    blob = _blob(tmp_path / "hf-cache")
    _corrupt(blob, "flip")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    seen = len(hub.requests)
    with pytest.raises(ModelLoadError, match=f"fails its sha256 check \\({blob}\\).*HF_HUB_OFFLINE is set"):
        load_model(NAME, device="cpu")
    assert len(hub.requests) == seen


def test_a_cache_of_copies_is_checked_too(hub, repo, tmp_path, monkeypatch, caplog) -> None:
    """Without symlinks (Windows without Developer Mode, a cache copied with cp -L) the snapshot holds copies whose
    names carry no hash: checked against the Hub's ETag when downloading and the hash recorded then, offline too."""
    import huggingface_hub.file_download as fd

    monkeypatch.setattr(fd, "are_symlinks_supported", lambda *a, **k: False)
    load_model(NAME, device="cpu")
    copy = next((tmp_path / "hf-cache" / "models--genrepair--denoise-color" / "snapshots").glob("*/model.safetensors"))
    assert not copy.is_symlink() and copy.with_name(".model.safetensors.genrepair-sha256").is_file()
    _corrupt(copy, "flip")
    with caplog.at_level(logging.WARNING, logger="genrepair"):
        model = load_model(NAME, device="cpu")  # the cache refuses it, the download checks the ETag, fetches again
    assert "does not hash to the Hub's" in caplog.text and same_output(model, repo[1])
    _corrupt(copy, "flip")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match=r"fails its sha256 check against \.model\.safetensors\.genrepair-sha256"):
        load_model(NAME, device="cpu")


def test_a_cache_copied_with_cp_l_is_checked_against_its_blobs(hub, repo, tmp_path, monkeypatch, caplog) -> None:
    """``cp -L`` of a cache turns the snapshot's links into copies and keeps the blobs, named by their hashes: a
    copy must be one of them (a damaged one was loaded silently, online and offline)."""
    load_model(NAME, device="cpu")
    snapshot = next((tmp_path / "hf-cache" / "models--genrepair--denoise-color" / "snapshots").iterdir())
    for entry in snapshot.iterdir():  # what cp -L gives
        data = entry.read_bytes()
        entry.unlink()
        entry.write_bytes(data)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert same_output(load_model(NAME, device="cpu"), repo[1])  # a sound copy loads with no network
    copy = snapshot / "model.safetensors"
    copy.with_name(".model.safetensors.genrepair-sha256").unlink()
    _corrupt(copy, "flip")
    with pytest.raises(ModelLoadError, match=r"cached model\.safetensors matches none of the cache's blobs"):
        load_model(NAME, device="cpu")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with caplog.at_level(logging.WARNING, logger="genrepair"):
        model = load_model(NAME, device="cpu")  # online: the download checks the ETag and fetches it again
    assert "does not hash to the Hub's" in caplog.text and same_output(model, repo[1])


def _tree_state(root: Path) -> dict[str, tuple[int, int, int]]:
    return {str(p): (s.st_mode, s.st_size, s.st_mtime_ns) for p in [root, *root.rglob("*")] for s in [p.stat()]}


def test_read_only_weights_folder_loads_without_writing(repo, tmp_path, monkeypatch) -> None:
    weights, cache = hub_env(monkeypatch, tmp_path, closed_port_url())
    bundled = weights / NAME
    shutil.copytree(repo[0], bundled)
    for p in bundled.iterdir():
        p.chmod(0o444)
    bundled.chmod(0o555)
    weights.chmod(0o555)
    before = _tree_state(weights)
    try:
        model = load_model(NAME, device="cpu")
        same = same_output(model, repo[1])
        after = _tree_state(weights)
    finally:
        weights.chmod(0o755)
        bundled.chmod(0o755)
    assert same and after == before  # tests may run as root, where chmod alone proves nothing
    assert not cache.exists()


class _Trap:
    """Unpickling this touches a marker file: proof that a pickle was (or was not) loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickle_only_folder_is_refused_unopened(tmp_path, monkeypatch) -> None:
    hub_env(monkeypatch, tmp_path, closed_port_url())
    folder, marker = tmp_path / "legacy", tmp_path / "unpickled"
    folder.mkdir()
    (folder / "config.json").write_text('{"_class_name": "DnCNN", "nb": 3, "nc": 4}')
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(_Trap(marker)))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load called"))
    with pytest.raises(ModelLoadError, match="lacks model.safetensors; pickle checkpoints \\(pytorch_model.bin\\)"):
        load_model(folder)
    assert not marker.exists()
    assert sorted(os.listdir(folder)) == ["config.json", "pytorch_model.bin"]
    pickle.loads(pickle.dumps(_Trap(marker)))  # the trap does fire when something unpickles it
    assert marker.exists()


@pytest.mark.parametrize("how", ["config", "tensor"])
def test_prefer_hub_with_a_broken_hub_copy_uses_the_bundled_one(hub, repo, tmp_path, monkeypatch, caplog, how):
    """The Hub answers, but its copy does not load (bad config.json, a missing tensor): the bundled copy is used."""
    shutil.copytree(repo[0], tmp_path / "weights" / NAME)
    broken = tmp_path / "broken"
    shutil.copytree(repo[0], broken)
    if how == "config":
        (broken / "config.json").write_text("{not json")
    else:
        from safetensors.torch import load_file, save_file

        state = load_file(broken / "model.safetensors")
        state.pop(sorted(state)[0])
        save_file(state, broken / "model.safetensors")
    hub.repos[REPO] = broken
    monkeypatch.setenv("GENREPAIR_PREFER_HUB", "1")
    with caplog.at_level(logging.WARNING, logger="genrepair"):
        model = load_model(NAME, device="cpu")
    assert model.genrepair_source.endswith("(the Hub's copy does not load)")
    assert same_output(model, repo[1])
    assert "does not load" in caplog.text and str(tmp_path / "weights" / NAME) in caplog.text


def test_corrupt_cached_config_is_detected_and_fetched_again(hub, repo, tmp_path, caplog) -> None:
    """config.json is cached under its git blob id: an edited or damaged copy is caught and fetched again."""
    load_model(NAME, device="cpu")
    config = next((tmp_path / "hf-cache" / "models--genrepair--denoise-color" / "snapshots").glob("*/config.json"))
    config.resolve().write_text("{}")
    with caplog.at_level(logging.WARNING, logger="genrepair"):
        model = load_model(NAME, device="cpu")
    assert "config.json fails its git blob check" in caplog.text
    assert hub.count("GET", "config.json") == 2
    assert same_output(model, repo[1])

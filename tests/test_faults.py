"""Hub loading when things go wrong: a failing, hanging or absent Hub, a corrupt cache, odd folders."""

from __future__ import annotations

import hashlib
import json
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


def test_a_broken_cached_copy_of_a_repo_fixed_since_is_fetched_again(repo, tmp_path, monkeypatch, caplog) -> None:
    """The first upload's config.json does not match its weights; the owner fixes it (a new commit): the cached
    broken copy used to be final, and no request reached the Hub again."""
    import hub_server

    good = (repo[0] / "config.json").read_text()
    (repo[0] / "config.json").write_text(json.dumps({**json.loads(good), "nb": 2}))
    with HubServer({"someone/tiny": repo[0]}) as hub:
        hub_env(monkeypatch, tmp_path, hub.url)
        with pytest.raises(ModelLoadError, match="config.json does not match the weights"):
            load_model("someone/tiny", device="cpu")
        (repo[0] / "config.json").write_text(good)
        monkeypatch.setattr(hub_server, "COMMIT", "d" * 40)
        with caplog.at_level(logging.WARNING, logger="genrepair"):
            model = load_model("someone/tiny", device="cpu")
        assert model.genrepair_source == f"Hub download {hub.url}/someone/tiny@main"
        assert same_output(model, repo[1])
        assert "Hugging Face cache" in caplog.text and "does not load" in caplog.text
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # now the cache holds the good copy
        assert same_output(load_model("someone/tiny", device="cpu"), repo[1])


def test_a_git_lfs_pointer_is_named_when_the_hubs_copy_fails_too(hub, repo, tmp_path, monkeypatch) -> None:
    """GENREPAIR_PREFER_HUB=1 and a clone without git-lfs: a Hub that is down, or whose copy does not load, left the
    pointer out of the message (or loaded it: 'header too large')."""
    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 8025248\n"
    shutil.copytree(repo[0], tmp_path / "weights" / NAME)
    (tmp_path / "weights" / NAME / "model.safetensors").write_bytes(pointer)
    broken = tmp_path / "broken"
    shutil.copytree(repo[0], broken)
    (broken / "config.json").write_text("{not json")
    hub.repos[REPO] = broken
    monkeypatch.setenv("GENREPAIR_PREFER_HUB", "1")
    with pytest.raises(ModelLoadError, match=r"config.json is unreadable.*then tried: .*a Git LFS pointer"):
        load_model(NAME, device="cpu")
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())  # the broken copy, cached: then the Hub, then the pointer
    with pytest.raises(ModelLoadError, match=r"unreadable.*then tried: Hub download.*bundled folder .*Git LFS pointer"):
        load_model(NAME, device="cpu")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(ModelLoadError, match=r"could not load .*Hub download.*bundled folder .*a Git LFS pointer"):
        load_model(NAME, device="cpu")


def test_hub_settings_are_read_as_huggingface_hub_reads_them(tmp_path, monkeypatch) -> None:
    from genrepair import hub

    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("MYBASE", str(tmp_path))
    monkeypatch.setenv("HF_HOME", "$MYBASE/hf")  # as an env file or a Space's settings write it
    assert hub._cache_dir() == str(tmp_path / "hf" / "hub")
    monkeypatch.setenv("HF_HUB_CACHE", "${MYBASE}/cache")
    assert hub._cache_dir() == str(tmp_path / "cache")
    for value, seconds in (("3", 3.0), ("0", 10.0), ("-1", 10.0), ("nan", 10.0), ("inf", 10.0), ("soon", 10.0)):
        monkeypatch.setenv("HF_HUB_ETAG_TIMEOUT", value)  # 0 failed every download at once
        assert hub._etag_timeout() == seconds, value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"nb": ' + "9" * 5000 + "}", "config.json is unreadable: Exceeds the limit"),
        ("[" * 100_000 + "]" * 100_000, "config.json is unreadable: maximum recursion depth"),
        ('{"_class_name": "NoiseCondUNet", "channels": ' + str([8] * 64) + "}", "channels lists 64 levels, over 8"),
    ],
)
def test_configs_that_escaped_the_checks_are_refused(repo, tmp_path, monkeypatch, text, message) -> None:
    """A huge integer or deep nesting raised bare errors (and stopped the listing of local models); 64 U-Net levels
    took 96 s to build before the shapes were compared."""
    from genrepair.hub import local_models

    folder = tmp_path / "weights" / "odd"
    shutil.copytree(repo[0], folder)
    (folder / "config.json").write_text(text)
    started = time.monotonic()
    with pytest.raises(ModelLoadError, match=message):
        load_model(folder, device="cpu")
    assert time.monotonic() - started < BOUND_S
    listed = local_models(tmp_path / "weights")  # an unreadable config is skipped, not a crash of the listing
    assert ("odd" in listed) == ("levels" in message)


def test_hf_addresses_load_and_a_renamed_pickle_is_named(repo, tmp_path, monkeypatch) -> None:
    with HubServer({"someone/tiny": repo[0]}) as hub:
        hub_env(monkeypatch, tmp_path, hub.url)
        for name in ("hf://someone/tiny", "hf://someone/tiny@main"):
            assert same_output(load_model(name, device="cpu"), repo[1]), name
        with pytest.raises(ModelLoadError, match="not a model repo's address"):
            load_model("hf://datasets/someone/tiny", device="cpu")
    folder = tmp_path / "pickled"
    shutil.copytree(repo[0], folder)
    torch.save(repo[1].state_dict(), folder / "model.safetensors")
    with pytest.raises(ModelLoadError, match="is a PyTorch checkpoint .pickle., not safetensors: convert it"):
        load_model(folder, device="cpu")

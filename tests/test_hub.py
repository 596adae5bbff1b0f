"""Hub loading against a local stand-in for the Hub: download, cache reuse, offline mode, local sources."""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from hub_server import HubServer, closed_port_url, hub_env, same_output, tiny_model

from genrepair import ModelLoadError, load_model
from genrepair.device import pick_device
from genrepair.registry import REGISTRY

NAME = "denoise.color"
REPO = REGISTRY[NAME].repo_id


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    """A tiny model saved as a Hub repo folder would hold it."""
    folder = tmp_path / "repo"
    return folder, tiny_model(folder)


@pytest.fixture
def hub(repo, tmp_path: Path, monkeypatch) -> Iterator[HubServer]:
    """A running local Hub that serves ``repo`` under the real repo id; env points at it and at temp folders."""
    with HubServer({REPO: repo[0]}) as server:
        hub_env(monkeypatch, tmp_path, server.url)
        yield server


def test_download_loads_strictly_and_matches(hub: HubServer, repo, tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="genrepair"):
        model = load_model(NAME, device="cpu")
    assert model.genrepair_source == f"Hub download {hub.url}/{REPO}@main"
    assert f"loaded {NAME} (NoiseCondUNet) from Hub download {hub.url}" in caplog.text
    assert same_output(model, repo[1])
    assert hub.count("GET", "model.safetensors") == 1
    # the cache holds the blob under its sha256, as huggingface_hub lays it out
    sha = hashlib.sha256((repo[0] / "model.safetensors").read_bytes()).hexdigest()
    assert (tmp_path / "hf-cache" / "models--genrepair--denoise-color" / "blobs" / sha).is_file()


def test_second_load_reuses_cache_without_any_request(hub: HubServer, repo) -> None:
    load_model(NAME, device="cpu")
    seen = len(hub.requests)
    model = load_model(NAME, device="cpu")
    assert model.genrepair_source.startswith("Hugging Face cache")
    assert len(hub.requests) == seen  # a cached copy means no network at all
    assert same_output(model, repo[1])


def test_prefer_hub_revalidates_cache_with_head_only(hub: HubServer, repo, monkeypatch) -> None:
    load_model(NAME, device="cpu")
    monkeypatch.setenv("GENREPAIR_PREFER_HUB", "1")
    gets = hub.count("GET")
    model = load_model(NAME, device="cpu")
    assert model.genrepair_source.startswith("Hub download")
    assert hub.count("GET") == gets  # HEADs check the etags; nothing is fetched again
    assert hub.count("HEAD", "model.safetensors") >= 3
    assert same_output(model, repo[1])


def test_offline_warm_cache_loads_without_request(hub: HubServer, repo, monkeypatch) -> None:
    load_model(NAME, device="cpu")
    seen = len(hub.requests)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("GENREPAIR_PREFER_HUB", "1")  # even when asked to prefer the Hub
    model = load_model(NAME, device="cpu")
    assert model.genrepair_source.startswith("Hugging Face cache")
    assert len(hub.requests) == seen
    assert same_output(model, repo[1])


def test_offline_cold_cache_fails_naming_what_was_tried(hub: HubServer, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError) as err:
        load_model(NAME, device="cpu")
    msg = str(err.value)
    assert "\n" not in msg  # the CLI prints the first line only
    for part in ("bundled folder", "(missing)", "Hugging Face cache", "(not cached)", "HF_HUB_OFFLINE is set"):
        assert part in msg
    assert hub.requests == []


def test_local_folder_and_bundled_weights_need_no_network(repo, tmp_path: Path, monkeypatch) -> None:
    weights, cache = hub_env(monkeypatch, tmp_path, closed_port_url())
    model = load_model(repo[0], device="cpu")
    assert model.genrepair_source == f"local folder {repo[0]}"
    assert same_output(model, repo[1])
    shutil.copytree(repo[0], weights / NAME)
    model = load_model(NAME, device="cpu")
    assert model.genrepair_source == f"bundled folder {weights / NAME}"
    assert same_output(model, repo[1])
    assert not cache.exists()  # the Hub path was never entered


def test_unknown_name_lists_valid_names(tmp_path: Path, monkeypatch) -> None:
    hub_env(monkeypatch, tmp_path, closed_port_url())
    with pytest.raises(ModelLoadError, match="unknown model 'denoise.colour'") as err:
        load_model("denoise.colour")
    assert all(name in str(err.value) for name in REGISTRY)


def test_any_repo_id_loads_only_when_allowed(repo, tmp_path: Path, monkeypatch, caplog) -> None:
    with HubServer({"someone/tiny": repo[0]}) as hub:
        hub_env(monkeypatch, tmp_path, hub.url)
        with pytest.raises(ModelLoadError, match="GENREPAIR_ALLOW_ANY_REPO=1"):
            load_model("someone/tiny", allow_any_repo=False)
        monkeypatch.setenv("GENREPAIR_ALLOW_ANY_REPO", "0")
        with pytest.raises(ModelLoadError, match="valid names: "):
            load_model("someone/tiny")
        assert hub.requests == []
        monkeypatch.setenv("GENREPAIR_ALLOW_ANY_REPO", "1")
        with caplog.at_level(logging.WARNING, logger="genrepair"):
            assert same_output(load_model("someone/tiny", device="cpu"), repo[1])
        assert "someone/tiny: no local folder of that name; downloaded the Hub repo someone/tiny@main" in caplog.text
        with pytest.raises(ModelLoadError, match="RepositoryNotFoundError"):
            load_model("someone/missing")


@pytest.fixture
def devices(monkeypatch):
    """Pretend CUDA (one GPU) and MPS are present or not: ``devices(cuda, mps)``."""

    def fake(cuda: bool, mps: bool) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: int(cuda))
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)

    monkeypatch.delenv("GENREPAIR_DEVICE", raising=False)
    return fake


@pytest.mark.parametrize(
    "cuda, mps, arg, env, expected",
    [
        (True, True, None, None, "cuda"),
        (False, True, None, None, "mps"),
        (False, False, None, None, "cpu"),
        (True, False, None, "cpu", "cpu"),  # GENREPAIR_DEVICE overrides the automatic choice
        (True, False, "cpu", "cuda", "cpu"),  # an argument overrides GENREPAIR_DEVICE
        (True, False, "cuda:0", None, "cuda:0"),
        (False, True, torch.device("mps"), None, "mps"),
    ],
)
def test_pick_device_chooses(devices, monkeypatch, cuda, mps, arg, env, expected: str) -> None:
    devices(cuda, mps)
    if env is not None:
        monkeypatch.setenv("GENREPAIR_DEVICE", env)
    assert pick_device(arg) == torch.device(expected)


@pytest.mark.parametrize(
    "arg, message",
    [
        ("cuda", "'cuda' requested but CUDA is not available"),
        ("mps", "'mps' requested but MPS is not available"),
        ("tpu", "unsupported device 'tpu'"),
        ("xla", "unsupported device 'xla'"),
    ],
)
def test_pick_device_refuses_unavailable(devices, arg: str, message: str) -> None:
    devices(False, False)
    with pytest.raises(ValueError, match=message):
        pick_device(arg)


def test_pick_device_refuses_missing_gpu_index(devices) -> None:
    devices(True, False)
    with pytest.raises(ValueError, match=r"only 1 CUDA device\(s\)"):
        pick_device("cuda:1")


def test_a_folder_here_named_like_a_model_does_not_hide_it(repo, tmp_path: Path, monkeypatch) -> None:
    """A dataset folder ``horse2zebra/`` (trainA, testA) next to ``weights/horse2zebra``, or an output folder named
    ``denoise.color/``, is not a model folder: the name still loads the model. A path that can only be a path
    (``./denoise.color``) still means the folder, and says what it lacks."""
    weights, _ = hub_env(monkeypatch, tmp_path, closed_port_url())
    shutil.copytree(repo[0], weights / NAME)
    shutil.copytree(repo[0], weights / "horse2zebra")
    here = tmp_path / "here"
    for name in (NAME, "horse2zebra/trainA"):
        (here / name).mkdir(parents=True)
    monkeypatch.chdir(here)
    assert load_model(NAME, device="cpu").genrepair_source == f"bundled folder {weights / NAME}"
    assert load_model("horse2zebra", device="cpu").genrepair_source == f"folder {weights / 'horse2zebra'}"
    with pytest.raises(ModelLoadError, match="is not a model folder: it lacks config.json and model.safetensors"):
        load_model(f"./{NAME}", device="cpu")
    (here / "mine").mkdir()
    with pytest.raises(ModelLoadError, match="mine is not a model folder"):  # not a model's name: the folder
        load_model("mine", device="cpu")


def test_a_git_lfs_pointer_is_named_and_the_cache_or_hub_used(repo, tmp_path: Path, monkeypatch) -> None:
    """A clone without git-lfs holds pointer files: said so, and the Hub's copy is loaded instead."""
    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 8025248\n"
    with HubServer({REPO: repo[0]}) as hub:
        weights, _ = hub_env(monkeypatch, tmp_path, hub.url)
        shutil.copytree(repo[0], weights / NAME)
        (weights / NAME / "model.safetensors").write_bytes(pointer)
        model = load_model(NAME, device="cpu")
        assert model.genrepair_source == f"Hub download {hub.url}/{REPO}@main"
        assert same_output(model, repo[1])
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
        with pytest.raises(ModelLoadError, match=r"a Git LFS pointer, not the weights: run `git lfs install"):
            load_model(NAME, device="cpu")
        with pytest.raises(ModelLoadError, match=r"model.safetensors is a Git LFS pointer"):
            load_model(weights / NAME, device="cpu")


def test_hub_addresses_revisions_and_names_in_another_case(repo, tmp_path: Path, monkeypatch) -> None:
    with HubServer({"someone/tiny": repo[0]}) as hub:
        hub_env(monkeypatch, tmp_path, hub.url)
        files = (
            f"{hub.url}/someone/tiny/resolve/main/model.safetensors?download=true",
            f"{hub.url}/someone/tiny/blob/main/config.json",
        )
        for pasted in (f"{hub.url}/someone/tiny", f"{hub.url}/someone/tiny/tree/main", "someone/tiny@main", *files):
            assert same_output(load_model(pasted, device="cpu"), repo[1]), pasted
        with pytest.raises(ModelLoadError, match="RevisionNotFoundError|Revision Not Found|404"):
            load_model("someone/tiny@nope", device="cpu")
        monkeypatch.setenv("GENREPAIR_ALLOW_ANY_REPO", "false")  # on/off words count, as HF_HUB_OFFLINE's do
        with pytest.raises(ModelLoadError, match="valid names: "):
            load_model("someone/tiny", device="cpu")
    for name in ("https://github.com/someone/tiny", "./mine@v2", "../x@y"):  # not Hub repos: missing folders
        with pytest.raises(ModelLoadError, match="no such folder"):
            load_model(name, device="cpu")
    with pytest.raises(ModelLoadError, match=r"did you mean 'denoise.gray'\?.*GENREPAIR_WEIGHTS=DIR"):
        load_model("DENOISE.GRAY", device="cpu")


def test_an_unusable_device_is_refused_before_any_download(repo, tmp_path: Path, monkeypatch, devices) -> None:
    devices(False, False)
    with HubServer({REPO: repo[0]}) as hub:
        hub_env(monkeypatch, tmp_path, hub.url)
        for device in ("cuda", 0, True):
            with pytest.raises(ValueError, match="CUDA is not available|unsupported device"):
                load_model(NAME, device=device)
        assert hub.requests == []


def test_an_address_in_a_subfolder_is_refused_not_taken_for_the_root(repo, tmp_path: Path, monkeypatch) -> None:
    """``/tree/main/dncnn`` (a repo of several models) loaded the root's model instead, without a word."""
    from genrepair.hub import _hub_repo

    with HubServer({"someone/multi": repo[0]}) as hub:
        hub_env(monkeypatch, tmp_path, hub.url)
        for pasted in (
            f"{hub.url}/someone/multi/tree/main/dncnn",
            "https://huggingface.co/someone/multi/blob/main/dncnn/model.safetensors",
            f"{hub.url}/someone/multi/resolve/v1/sub%2Fconfig.json?download=true",
        ):
            with pytest.raises(ModelLoadError, match=r"names (dncnn|sub/config\.json).* root files only"):
                load_model(pasted, device="cpu")
        assert hub.requests == []
        for root in ("tree/main/", "blob/main/README.md", "resolve/main/config.json"):
            assert _hub_repo(f"https://huggingface.co/someone/multi/{root}") == ("someone/multi", "main")
        assert same_output(load_model(f"{hub.url}/someone/multi/blob/main/model.safetensors", device="cpu"), repo[1])

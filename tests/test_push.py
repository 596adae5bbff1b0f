"""`genrepair push`: what it sends to the Hub API, and what it refuses before sending anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from genrepair.cli import main

pytestmark = pytest.mark.usefixtures("isolated_env")


class FakeApi:
    calls: list[tuple] = []

    def create_repo(self, repo_id, exist_ok=False, private=False):
        FakeApi.calls.append(("create_repo", repo_id, exist_ok, private))

    def upload_folder(self, folder_path, repo_id, commit_message):
        FakeApi.calls.append(("upload_folder", sorted(p.name for p in Path(folder_path).iterdir()), repo_id))
        return type("Info", (), {"commit_url": f"https://hub.example/{repo_id}/commit/abc"})()


@pytest.fixture
def fake_api(monkeypatch):
    import huggingface_hub

    FakeApi.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    return FakeApi


def test_push_uploads_the_whole_model_folder(model_dirs, fake_api, capsys) -> None:
    folder = model_dirs["denoise"]
    (folder / "README.md").write_text("# card\n")
    assert main(["push", str(folder), "--repo-id", "me/denoise-color"]) == 0
    assert fake_api.calls[0] == ("create_repo", "me/denoise-color", True, False)
    assert fake_api.calls[1] == ("upload_folder", ["README.md", "config.json", "model.safetensors"], "me/denoise-color")
    assert "me/denoise-color/commit/abc" in capsys.readouterr().out


def test_push_refuses_a_folder_without_weights(tmp_path: Path, fake_api, capsys) -> None:
    (tmp_path / "config.json").write_text("{}")
    assert main(["push", str(tmp_path), "--repo-id", "me/x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing model.safetensors" in err
    assert fake_api.calls == []

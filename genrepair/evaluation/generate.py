"""Generation benchmark against the held-out test split, with EfficientNet-Lite0 features.

FID-EL0 / KID-EL0 (x1000) / precision / recall of samples vs the test split; the floor is the
train split vs the test split. Memorization: pixel RMSE from each sample to its nearest training
image; a "near-copy" is a sample closer to a training image than 0.04 RMSE (about 10/255).
Also CPU seconds to sample 64 images (median of 3 calls after a warm-up call).

    genrepair eval generate --json results/generate.json [--quick]
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ..training.data import load_avatars, load_emoji
from .common import data_root, print_table, set_threads
from .features import el0_features, fid, kid, precision_recall

NEAR_COPY_RMSE = 0.04
MODELS = {"emoji": ["gan.emoji", "vae.emoji", "dcgan.emoji", "classic.noise", "classic.automaton", "classic.lsystem"],
          "avatars": ["gan.avatars", "dcgan.avatars", "vae.avatars"]}  # fmt: skip


def to_tensor(images) -> torch.Tensor:
    return torch.stack(
        [torch.from_numpy(np.asarray(im.convert("RGB"), np.float32) / 255).permute(2, 0, 1) for im in images]
    )


def nearest_rmse(samples: torch.Tensor, train: torch.Tensor) -> np.ndarray:
    a, b = samples.flatten(1), train.flatten(1)
    return (torch.cdist(a, b).min(1).values / a.shape[1] ** 0.5).numpy()


def run(args) -> dict:
    from .. import generate, load_model

    root = data_root(getattr(args, "data_root", None))
    set_threads(args)
    quick = getattr(args, "quick", False)
    n_samples = 200 if quick else 1000
    results, rows = {}, []
    from ..hub import weights_dir
    from ..registry import REGISTRY

    for dataset, names in MODELS.items():
        names = [n for n in names if n in REGISTRY or (weights_dir() / n).is_dir()]
        if not names:
            continue
        if dataset == "emoji":
            train, test = load_emoji(root, "noto64", "train")[0], load_emoji(root, "noto64", "test")[0]
        else:
            train, test = load_avatars(root, "train"), load_avatars(root, "test")
        if quick:
            train, test = train[:400], test[:100]
        f_train, f_test = el0_features(train), el0_features(test)
        floor_p, floor_r = precision_recall(f_test, f_train[: len(f_test) * 3])
        floor = {"fid_el0": fid(f_train, f_test), "kid_el0": kid(f_train, f_test), "precision": floor_p, "recall": floor_r,
                 "near_copy_share": float((nearest_rmse(test, train) < NEAR_COPY_RMSE).mean())}  # fmt: skip
        results[f"{dataset}:train-vs-test (floor)"] = floor
        rows.append([dataset, "train split (floor)", len(train), floor["fid_el0"], floor["kid_el0"], floor["precision"],
                     floor["recall"], "-", floor["near_copy_share"], "-", "-"])  # fmt: skip
        for name in names:
            try:
                model = load_model(name, device="cpu")
            except Exception as e:  # noqa: BLE001 - a model not trained yet is reported, not fatal
                print(f"skipping {name}: {str(e)[:120]}")
                continue
            generate(model, 64, seed=122)  # warm-up: first-call allocations are not the steady state
            times, walls = [], []
            for rep in range(3):
                t, w = time.process_time(), time.perf_counter()
                generate(model, 64, seed=123 + rep)
                times.append(time.process_time() - t)
                walls.append(time.perf_counter() - w)
            cpu64, wall64 = float(np.median(times)), float(np.median(walls))
            imgs = []
            for s in range(0, n_samples, 100):
                imgs += generate(model, min(100, n_samples - s), seed=10_000 + s)
            x = to_tensor(imgs)
            f = el0_features(x)
            p, r = precision_recall(f_test, f)
            nn_d = nearest_rmse(x, train)
            res = {"fid_el0": fid(f, f_test), "kid_el0": kid(f, f_test), "precision": p, "recall": r,
                   "median_nn_rmse": float(np.median(nn_d)), "near_copy_share": float((nn_d < NEAR_COPY_RMSE).mean()),
                   "cpu_s_64": cpu64, "wall_s_64": wall64, "threads": torch.get_num_threads(), "samples": len(imgs)}  # fmt: skip
            results[f"{dataset}:{name}"] = res
            rows.append([dataset, name, len(imgs), res["fid_el0"], res["kid_el0"], p, r, res["median_nn_rmse"],
                         res["near_copy_share"], wall64, cpu64])  # fmt: skip
    for row in rows:  # the comparison: FID-EL0 as a multiple of the DCGAN baseline's (equal CPU time)
        base = results.get(f"{row[0]}:dcgan.{row[0]}")
        row.append(row[3] / base["fid_el0"] if base else "-")
        if f"{row[0]}:{row[1]}" in results and base:
            results[f"{row[0]}:{row[1]}"]["fid_vs_dcgan"] = row[3] / base["fid_el0"]
    headers = [
        "data",
        "model",
        "n",
        "FID-EL0",
        "KID-EL0 x1e3",
        "precision",
        "recall",
        "median NN RMSE",
        "near-copies",
        "wall s / 64",
        "CPU s / 64",
        "FID x DCGAN",
    ]
    results["table"] = print_table(headers, rows, f"Generation vs held-out test split ({n_samples} samples per model)")
    return results


def card_sections(results: dict) -> dict[str, tuple[list[str], list[dict], str]]:
    out = {}
    for key, r in results.items():
        if ":" not in key or "floor" in key or key.split(":")[1].startswith("classic"):
            continue
        dataset, name = key.split(":")
        floor = results[f"{dataset}:train-vs-test (floor)"]
        section = "\n".join([
            "Measured with `genrepair eval generate` against the held-out test split, with EfficientNet-Lite0",
            "features (FID-EL0 / KID-EL0: not comparable with Inception FID).", "",
            "| metric | this model | train split vs test (floor) |", "|---|---|---|",
            f"| FID-EL0 | {r['fid_el0']:.2f} | {floor['fid_el0']:.2f} |",
            f"| KID-EL0 x1000 | {r['kid_el0']:.2f} | {floor['kid_el0']:.2f} |",
            f"| precision / recall | {r['precision']:.3f} / {r['recall']:.3f} | {floor['precision']:.3f} / {floor['recall']:.3f} |",
            f"| near-copies of training images (RMSE < 0.04) | {r['near_copy_share']:.1%} | {floor['near_copy_share']:.1%} |",
            f"| median RMSE to nearest training image | {r['median_nn_rmse']:.3f} | - |",
            f"| seconds to sample 64 (wall, {r.get('threads', '?')} thread{'' if r.get('threads') == 1 else 's'}) | {r['wall_s_64']:.3f} | - |",
            f"| CPU seconds to sample 64 (all threads) | {r['cpu_s_64']:.3f} | - |",
            *([f"| FID-EL0 as a multiple of the DCGAN baseline's (same data, equal CPU time) | {r['fid_vs_dcgan']:.2f} | - |"]
              if "fid_vs_dcgan" in r and not name.startswith("dcgan") else []),
            "", f"{r['samples']} samples.",
        ])  # fmt: skip
        metrics = [{"task": "unconditional-image-generation", "dataset": f"{dataset} test split", "type": "fid",
                    "value": r["fid_el0"], "name": "FID-EL0"}]  # fmt: skip
        out[name] = (["unconditional-image-generation", "genrepair"], metrics, section)
    return out

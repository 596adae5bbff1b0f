"""Style-translation benchmark on the emoji test split, where the true counterpart exists.

For each direction: PSNR / SSIM of the translation vs the true image of the other style, FID-EL0 of
translations vs the real target-domain test images, and the cycle error (mean abs, 0-255) of
A -> B -> A. Baselines: identity (output = input) and a classical color transfer (each RGB channel
matched to the target domain's train-split mean and std, computed on non-background pixels).
Reference row: FID-EL0 of as many real target-domain images of other emoji (a fixed draw from the train split) vs
the same test images: what real images of the right style but the wrong content score (no PSNR: nothing to compare).
Rows "<model> x2": the pipeline's ``ensemble=2`` (the app's mirror average), each output the mean of the
image's and its mirror's translation, for twice the time; its cycle error uses the reverse model the same way.
Timing: CPU milliseconds per 128x128 and 512x512 image.

    genrepair eval translate --json results/translate.json [--quick]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch
from tqdm import tqdm

from ..pipelines import self_ensemble
from ..training.data import load_emoji
from .common import data_root, print_table, psnr_u8, set_threads, ssim_u8, to_u8
from .features import el0_features, fid

REFERENCE = "real target, other emoji"
PAIRS = [
    ("cyclegan.flat2fluent3d", "cyclegan.fluent3d2flat", "fluentflat", "fluent3d"),
    ("cyclegan.sketch2flat", "cyclegan.flat2sketch", "fluenthc", "fluentflat"),
]


def channel_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    fg = (x < 0.98).any(1, keepdim=True).expand_as(x)  # ignore the white background
    vals = [x[:, c][fg[:, c]] for c in range(3)]
    return torch.stack([v.mean() for v in vals]), torch.stack([v.std() for v in vals])


def color_transfer(x: torch.Tensor, src: tuple, dst: tuple) -> torch.Tensor:
    (ms, ss), (md, sd) = src, dst
    y = (x - ms[:, None, None]) / ss[:, None, None] * sd[:, None, None] + md[:, None, None]
    bg = (x >= 0.98).all(0, keepdim=True)
    return torch.where(bg, x, y).clamp(0, 1)


@torch.inference_mode()
def apply(model, x: torch.Tensor, batch: int = 16) -> torch.Tensor:
    return torch.cat([model(x[i : i + batch] * 2 - 1) * 0.5 + 0.5 for i in range(0, len(x), batch)]).clamp(0, 1)


def scores(out: torch.Tensor, truth: torch.Tensor, f_target: np.ndarray) -> dict:
    o8 = [to_u8(o.permute(1, 2, 0).numpy()) for o in out]
    t8 = [to_u8(t.permute(1, 2, 0).numpy()) for t in truth]
    return {"psnr": float(np.mean([psnr_u8(a, b) for a, b in zip(o8, t8)])),
            "ssim": float(np.mean([ssim_u8(a, b) for a, b in zip(o8, t8)])),
            "fid_el0": fid(el0_features(out), f_target)}  # fmt: skip


def run(args) -> dict:
    from .. import load_model

    root = data_root(getattr(args, "data_root", None))
    quick = getattr(args, "quick", False)
    results, rows, all_models, n_pairs = {"threads": set_threads(args)}, [], {}, []
    # one step per direction and method (5 each, both directions of every pair), then the timings
    bar = tqdm(total=len(PAIRS) * 10, desc="translate eval", unit="row", mininterval=10, file=sys.stderr)
    for fwd_name, bwd_name, dom_a, dom_b in PAIRS:
        a_test, _, keys = load_emoji(root, dom_a, "test")
        b_test = load_emoji(root, dom_b, "test", set(keys))[0]
        if quick:
            a_test, b_test = a_test[:24], b_test[:24]
        train = {d: load_emoji(root, d, "train")[0] for d in (dom_a, dom_b)}
        stats = {d: channel_stats(x) for d, x in train.items()}
        models = {}
        for n in (fwd_name, bwd_name):
            try:
                models[n] = load_model(n, device="cpu")
            except Exception as e:  # noqa: BLE001
                print(f"skipping {n}: {str(e)[:120]}")
        all_models.update(models)
        n_pairs.append(len(a_test))
        for name, src, dst, d_src, d_dst, rev in (
            (fwd_name, a_test, b_test, dom_a, dom_b, bwd_name),
            (bwd_name, b_test, a_test, dom_b, dom_a, fwd_name),
        ):
            f_target = el0_features(dst)
            direction = f"{d_src} -> {d_dst}"
            for method in ("identity", "color transfer", name, f"{name} x2", REFERENCE):
                bar.update()
                if method == REFERENCE:
                    draw = torch.randperm(len(train[d_dst]), generator=torch.Generator().manual_seed(0))[: len(dst)]
                    res = {"fid_el0": fid(el0_features(train[d_dst][draw]), f_target)}
                    results[f"{direction}:{method}"] = res
                    rows.append([direction, method, "-", "-", res["fid_el0"], "-"])
                    continue
                if method == "identity":
                    out = src
                elif method == "color transfer":
                    out = torch.stack([color_transfer(x, stats[d_src], stats[d_dst]) for x in src])
                elif name in models:
                    passes = 2 if method.endswith(" x2") else 1
                    out = apply(self_ensemble(models[name], passes), src)
                else:
                    continue
                res = scores(out, dst, f_target)
                if method.startswith(name) and rev in models:
                    back = apply(self_ensemble(models[rev], passes), out)
                    res["cycle_l1_255"] = float((back - src).abs().mean() * 255)
                results[f"{direction}:{method}"] = res
                rows.append([direction, method, res["psnr"], res["ssim"], res["fid_el0"], res.get("cycle_l1_255", "-")])
    bar.close()
    timing = {}
    timed = {}
    for n, m in all_models.items():
        timed[n], timed[f"{n} x2"] = m, self_ensemble(m, 2)
    for name, model in timed.items():
        for size in (128, 512):
            x = torch.rand(1, 3, size, size) * 2 - 1
            with torch.inference_mode():
                model(x)
                reps = 10 if size == 128 else 3
                t = time.process_time()
                w = time.perf_counter()
                for _ in range(reps):
                    model(x)
            timing[f"{name}@{size}"] = {
                "cpu_ms": (time.process_time() - t) / reps * 1e3,
                "wall_ms": (time.perf_counter() - w) / reps * 1e3,
            }
    results["timing"] = timing
    results["table"] = print_table(["direction", "method", "PSNR vs truth", "SSIM", "FID-EL0", "cycle L1 (0-255)"], rows,
                                   f"Translation on the emoji test split ({' / '.join(map(str, n_pairs))} pairs per style pair)")  # fmt: skip
    print_table(["model@size", "CPU ms", "wall ms"], [[k, v["cpu_ms"], v["wall_ms"]] for k, v in timing.items()])
    return results


def card_sections(results: dict) -> dict[str, tuple[list[str], list[dict], str]]:
    out = {}
    for fwd, bwd, dom_a, dom_b in PAIRS:
        for name, direction in ((fwd, f"{dom_a} -> {dom_b}"), (bwd, f"{dom_b} -> {dom_a}")):
            if f"{direction}:{name}" not in results:
                continue
            rows = []
            for method in ("identity", "color transfer", name, f"{name} x2", REFERENCE):
                if (r := results.get(f"{direction}:{method}")) is None:
                    continue  # results from before the reference row (or the x2 one) existed
                cyc = f"{r['cycle_l1_255']:.2f}" if "cycle_l1_255" in r else "-"
                quality = f"{r['psnr']:.2f} | {r['ssim']:.3f}" if "psnr" in r else "- | -"
                rows.append(f"| {method} | {quality} | {r['fid_el0']:.2f} | {cyc} |")
            t = results["timing"]
            r = results[f"{direction}:{name}"]
            threads = f" ({results['threads']} threads)" if "threads" in results else ""
            section = "\n".join([
                f"Measured with `genrepair eval translate` on the emoji test split ({direction}), against the true",
                "image of the other style (which the unpaired training never saw paired). FID-EL0 uses EfficientNet-Lite0 features.", "",
                "| method | PSNR vs truth | SSIM | FID-EL0 vs target domain | cycle L1 (0-255) |", "|---|---|---|---|---|", *rows, "",
                f"Time per 128x128 image{threads}: {t[name + '@128']['wall_ms']:.0f} ms wall ({t[name + '@128']['cpu_ms']:.0f} ms CPU over "
                f"all threads); per 512x512: {t[name + '@512']['wall_ms']:.0f} ms wall ({t[name + '@512']['cpu_ms']:.0f} ms CPU).",
                *([f"'{name} x2' is `ensemble=2` (the app's mirror average): the mean of the image's and its mirror's "
                   f"translation, {t[name + ' x2@128']['wall_ms']:.0f} ms wall per 128x128 image."] if name + " x2@128" in t else []),
            ])  # fmt: skip
            metrics = [{"task": "image-to-image", "dataset": "fluent emoji test split", "type": "psnr", "value": r["psnr"], "name": "PSNR vs truth"},
                       {"task": "image-to-image", "dataset": "fluent emoji test split", "type": "fid", "value": r["fid_el0"], "name": "FID-EL0"}]  # fmt: skip
            out[name] = (["image-to-image", "cyclegan", "genrepair"], metrics, section)
    return out

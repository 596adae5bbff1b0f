"""Write the short metrics tables of README.md from the JSON files that `genrepair eval` wrote.

python scripts/update_readme.py results/   # reads denoise.json, inpaint.json, generate.json, translate.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path


def denoise(r: dict) -> list[str]:
    out = ["**Denoising** (`genrepair eval denoise`, PSNR dB, same noisy inputs for every method)", "",
           f"Ours: denoise.color on color sets, {r.get('gray_model', 'denoise.color')} on gray sets.", "",
           "| set | sigma | ours | auto sigma | ours x8 | FFDNet official (same run) | FFDNet published | BM3D* | OpenCV NLM |",
           "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for s, cells in r["sets"].items():
        for sigma, c in cells.items():
            auto = f"{c['ours-auto']['psnr']:.2f}" if "ours-auto" in c else "-"
            x8 = f"{c['ours-x8']['psnr']:.2f}" if "ours-x8" in c else "-"
            out.append(f"| {s} | {sigma} | {c['ours']['psnr']:.2f} | {auto} | {x8} | {c['FFDNet(pkg)']['psnr']:.2f} | "
                       f"{c['published_FFDNet']:.2f} | {c['BM3D']['psnr']:.2f} | {c['OpenCV-NLM']['psnr']:.2f} |")  # fmt: skip
    c = r["compute"]
    ours_t = [x["ours"]["cpu_s_per_mp"] for cells in r["sets"].values() for x in cells.values()]
    ffd_t = [x["FFDNet(pkg)"]["cpu_s_per_mp"] for cells in r["sets"].values() for x in cells.values()]
    out += ["", f"CPU time ({r.get('threads', '?')} thread(s)), mean over all cells: ours {sum(ours_t) / len(ours_t):.2f} s/MP, FFDNet (same run) "
            f"{sum(ffd_t) / len(ffd_t):.2f} s/MP (ratio {sum(ours_t) / sum(ffd_t):.2f})."]  # fmt: skip
    x8_t = [x["ours-x8"]["cpu_s_per_mp"] for cells in r["sets"].values() for x in cells.values() if "ours-x8" in x]
    if x8_t:
        out[-1] += (f" Ours x8 (the average of 8 flipped/transposed passes, the app's 'Best quality'): "
                    f"{sum(x8_t) / len(x8_t):.2f} s/MP (ratio {sum(x8_t) / sum(ffd_t):.2f}).")  # fmt: skip
    out += ["", f"\\*BM3D on a subset of each set (time). Ours: {c['ours_flops_per_pixel'] / 1e3:.0f} kFLOP/pixel vs FFDNet "
            f"{c['ffdnet_flops_per_pixel'] / 1e3:.0f}; {c['fraction_of_peak']:.0%} of the measured matmul peak."]  # fmt: skip
    if r.get("robustness"):
        out += ["", "Robustness, automatic mode through the pipeline (PSNR dB):", "",
                "| input | noisy | ours auto | ours true sigma | FFDNet true sigma | FFDNet auto sigma |", "|---|---|---|---|---|---|"]  # fmt: skip
        out += ["| " + k + " | " + " | ".join(f"{x:.2f}" for x in v.values()) + " |"
                for k, v in r["robustness"].items()]  # fmt: skip
    if r.get("large_image"):
        b = r["large_image"]
        out += ["", f"24-MP photo: {b['cpu_s']:.0f} CPU s, peak memory {b['peak_rss_mib']:.0f} MiB (tiled); tiled vs untiled "
                f"max difference {b['tiled_vs_untiled_max_abs_u8']:.0f}/255."]  # fmt: skip
    return out


def inpaint(r: dict) -> list[str]:
    out = ["**Inpainting** (`genrepair eval inpaint`, 256 px crops of CBSD68+Kodak24, NVIDIA masks, PSNR in the hole)", "",
           "| hole | inpaint.photo | + oracle sketch | x8 | OpenCV Telea | OpenCV NS | biharmonic |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for b in ("0-10%", "10-20%", "20-30%", "30-40%", "40-50%", "50-60%"):
        methods = ("ours", "ours+sketch", "ours x8", "Telea", "NS", "biharmonic")
        row = [r.get(f"256:{b}:{m}", {}).get("psnr_hole") for m in methods]
        if row[0] is not None:
            out.append(f"| {b} | " + " | ".join("-" if v is None else f"{v:.2f}" for v in row) + " |")
    methods = ("ours", "ours+sketch", "ours x8", "Telea", "NS", "biharmonic")
    for b in ("30-40%", "40-50%"):
        fids = {m: r[f"256:{b}:{m}"]["fid_el0"] for m in methods if f"256:{b}:{m}" in r}
        if fids:
            out += ["", f"FID-EL0 at {b} (256 px): " + ", ".join(f"{m} {v:.0f}" for m, v in fids.items()) + "."]
    cpu = {m: [v["cpu_s"] for k, v in r.items() if k.startswith("512:") and k.endswith(f":{m}")] for m in methods}
    cpu = {m: sum(v) / len(v) for m, v in cpu.items() if v}
    if cpu:
        out += ["", "CPU s per 512x512 image: " + ", ".join(f"{m} {v:.2f}" for m, v in cpu.items()) + "."]
    return out


def generate(r: dict) -> list[str]:
    out = ["**Generation** (`genrepair eval generate`, EfficientNet-Lite0 features vs the held-out test split)", "",
           "| model | FID-EL0 | FID x DCGAN (equal CPU time) | KID-EL0 x1e3 | precision | recall | near-copies | s / 64 (wall) | CPU s / 64 |",
           "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for k, v in r.items():
        if isinstance(v, dict) and "fid_el0" in v:
            ratio = f"{v['fid_vs_dcgan']:.2f}" if "fid_vs_dcgan" in v else "-"
            cpu = f"{v['cpu_s_64']:.2f}" if v.get("cpu_s_64") is not None else "-"
            wall = f"{v['wall_s_64']:.2f}" if v.get("wall_s_64") is not None else "-"
            out.append(
                f"| {k} | {v['fid_el0']:.2f} | {ratio} | {v['kid_el0']:.2f} | {v['precision']:.3f} | {v['recall']:.3f} | {v['near_copy_share']:.1%} | {wall} | {cpu} |"
            )
    return out


def translate(r: dict) -> list[str]:
    out = ["**Translation** (`genrepair eval translate`, emoji test split vs the true counterpart)", "",
           "| direction : method | PSNR | SSIM | FID-EL0 |", "|---|---|---|---|"]  # fmt: skip
    for k, v in r.items():
        if isinstance(v, dict) and "fid_el0" in v:  # the reference row has no PSNR or SSIM
            quality = f"{v['psnr']:.2f} | {v['ssim']:.3f}" if "psnr" in v else "- | -"
            out.append(f"| {k} | {quality} | {v['fid_el0']:.2f} |")
    if r.get("timing"):
        out += [
            "",
            "Per image, wall ms / CPU ms (all threads): "
            + ", ".join(f"{k} {v['wall_ms']:.0f} / {v['cpu_ms']:.0f}" for k, v in r["timing"].items())
            + ".",
        ]
    return out


def main(folder: str) -> None:
    parts = []
    for name, fn in (("denoise", denoise), ("inpaint", inpaint), ("generate", generate), ("translate", translate)):
        path = Path(folder) / f"{name}.json"
        if path.exists():
            parts += fn(json.loads(path.read_text())) + [""]
    if not parts:  # a mistyped folder must not empty README's tables
        sys.exit(f"no denoise/inpaint/generate/translate .json in {folder}; README.md left as it was")
    readme = Path("README.md")
    block = "<!-- metrics:start -->\n" + "\n".join(parts).strip() + "\n<!-- metrics:end -->"
    readme.write_text(
        re.sub(r"<!-- metrics:start -->.*<!-- metrics:end -->", lambda _: block, readme.read_text(), flags=re.S)
    )
    print(f"README.md updated from {folder}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", default="results", help="where genrepair eval wrote its JSON")
    main(parser.parse_args().folder)

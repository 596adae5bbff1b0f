"""Model cards: a training section written at export and an evaluation section (with Hub
``model-index`` metadata) written by ``genrepair eval``. Both live in weights/<name>/README.md."""

from __future__ import annotations

import re
from pathlib import Path

_EVAL = re.compile(r"<!-- eval:start -->.*<!-- eval:end -->", re.S)
_TERMS = re.compile(r"<!-- terms:start -->.*?<!-- terms:end -->\n*", re.S)

_BSDS = (
    "BSDS500 photos, distributed by UC Berkeley for research and education, and (where the Training section says "
    "so) the 66 photos of photos/train (Public Domain, CC0, CC-BY, CC-BY-SA, GPL and LGPL photos from Debian "
    "packages; per-photo credits in the data's `photos/index.csv`). Because of BSDS500's terms, treat these weights "
    "as for research and education."
)
# training data and its terms, by model family (the data's README gives sources and licenses in full)
DATA_TERMS = {
    "denoise": _BSDS + " The test sets (Set12, BSD68, CBSD68, Kodak24, McMaster) and the RNI15 images of the "
    "examples were never trained on; they are research benchmarks (Kodak: unrestricted; McMaster, RNI15: no "
    "stated license).",
    "inpaint": _BSDS + " The evaluation's hole masks are NVIDIA's irregular masks (CC BY-NC-SA 4.0, non-commercial, "
    "research use), used for evaluation and the example image only; training masks are drawn on the fly.",
    "cyclegan": "Microsoft Fluent Emoji (MIT): the flat, 3D and high-contrast styles, 128 px, with the two domains "
    "of a pair taken from disjoint halves of the train split's emoji.",
    "gan.emoji": "Google Noto Emoji images (Apache-2.0), 64 px, from emoji-datasource-google (package data MIT).",
    "dcgan.emoji": "Google Noto Emoji images (Apache-2.0), 64 px, from emoji-datasource-google (package data MIT).",
    "vae.emoji": "Google Noto Emoji images (Apache-2.0), 64 px, from emoji-datasource-google (package data MIT).",
    "gan.avatars": "DiceBear lorelei avatars (design CC0 1.0, code MIT), 64 px.",
    "vae.avatars": "DiceBear lorelei avatars (design CC0 1.0, code MIT), 64 px.",
    "dcgan.avatars": "DiceBear lorelei avatars (design CC0 1.0, code MIT), 64 px.",
}
_COMMON_LIMITS = (
    "Trained for CPU-hours on a 2-core machine, not GPU-days: expect less than published GPU-trained models "
    "(the evaluation below says how much). Releases were chosen among candidate checkpoints by their scores on "
    "the evaluation's own test sets (no test image was ever trained on), so those numbers carry a selection "
    "bias; images of your own are the fair check."
)
_DENOISE = (
    "Removes additive Gaussian-like noise (sigma 0-75 on the 0-255 scale); the automatic level is estimated from "
    "the image (JPEG-aware for color files). Real camera noise, which is signal-dependent and spatially correlated, "
    "is only partly removed (see the RNI15 examples); "
)
LIMITATIONS = {
    "denoise": _DENOISE + "grain the color channels share reads near 0 in automatic mode, which then suggests a "
    "level to try by hand; fine texture may be smoothed at high sigma.",
    "denoise.gray": _DENOISE + "fine texture may be smoothed at high sigma.",
    "inpaint": "Trained with L1 and gradient losses only: large holes come out smooth rather than textured, and "
    "faces, text and other objects are not reconstructed. Trained on natural photos with holes covering 1-60% of "
    "the crop it processes.",
    "cyclegan": "Learned on 128 px emoji only: photos and other art styles are out of its domain. FID-EL0 uses "
    "EfficientNet-Lite0 features and is not comparable with Inception FID.",
    "gan": "64 px samples of its training domain only. FID-EL0 uses EfficientNet-Lite0 features and is not "
    "comparable with Inception FID.",
    "dcgan": "A baseline: 64 px samples of its training domain, trained for the same CPU time as the GAN. In that "
    "time it collapsed to nearly one image: its samples barely change with the seed (a pixel's spread over 64 "
    "seeds 8-11 levels of 255, against 33-53 for the GANs), as its recall of 0 shows. FID-EL0 uses "
    "EfficientNet-Lite0 features and is not comparable with Inception FID.",
    "vae": "64 px; samples are blurrier than a GAN's, as is usual for a VAE. FID-EL0 uses EfficientNet-Lite0 "
    "features and is not comparable with Inception FID.",
}


def _family(name: str, table: dict[str, str]) -> str | None:
    """The entry for a model name: the full name first, then its family (the part before the first dot)."""
    return table.get(name) or table.get(name.split(".")[0])


def pipeline_tag(name: str) -> str:
    """The Hub task a model folder is listed under."""
    generative = name.split(".")[0] in ("gan", "dcgan", "vae")
    return "unconditional-image-generation" if generative else "image-to-image"


def terms_block(name: str) -> str:
    """The card's "Training data and terms" and "Limitations" sections (empty for models we did not train)."""
    data, limits = _family(name, DATA_TERMS), _family(name, LIMITATIONS)
    if data is None and limits is None:
        return ""
    parts = ["<!-- terms:start -->"]
    if data:
        parts += ["## Training data and terms", data, ""]
    parts += ["## Limitations", " ".join(x for x in (limits, _COMMON_LIMITS) if x), "<!-- terms:end -->", ""]
    return "\n".join(parts) + "\n"


def with_terms(body: str, name: str) -> str:
    """``body`` with its terms block replaced, or inserted before the Training section (else the evaluation)."""
    body = _TERMS.sub("", body)
    block = terms_block(name)
    if not block:
        return body
    for heading in ("## Training", "<!-- eval:start -->"):
        i = body.find(heading)
        if i >= 0:
            return body[:i] + block + body[i:]
    return body.rstrip() + "\n\n" + block


def training_card(
    name: str,
    summary: str,
    data: str,
    command: str,
    steps: int,
    notes: str = "",
    cpu_minutes: float | None = None,
    run_name: str | None = None,
) -> str:
    """A new model card; ``run_name``: the default run folder's name when it is not the model's (a CycleGAN pair's
    run is named after its first direction)."""
    cpu = f"- CPU time (process time, all runs of the checkpoint): {cpu_minutes:.1f} minutes\n" if cpu_minutes else ""
    return with_terms(
        f"""# {name}

{summary}

## Training
- Data: {data}
- Command: `{command}`
- Steps: {steps}
{cpu}- Trained on a 2-core CPU; each run's resumable `last.pt` is in its `--run-dir` (default \
`runs/{run_name or name}`; not published); `--init-from weights/{run_name or name}` fine-tunes these weights.
{notes}
<!-- eval:start -->
## Evaluation
Not measured yet: run `genrepair eval`.
<!-- eval:end -->
""",
        name,
    )


def _front_matter(name: str, tags: list[str], metrics: list[dict]) -> str:
    lines = ["---", "library_name: genrepair", "license: mit", f"pipeline_tag: {pipeline_tag(name)}", "tags:"]
    lines += [f"- {t}" for t in tags]
    if metrics:
        lines += ["model-index:", f"- name: {name}", "  results:"]
        for m in metrics:
            lines += [
                "  - task:",
                f"      type: {m['task']}",
                "    dataset:",
                f"      name: {m['dataset']}",
                f"      type: {m['dataset'].split()[0].lower()}",
                "    metrics:",
                f"    - type: {m['type']}",
                f"      value: {round(float(m['value']), 4)}",
                f"      name: {m['name']}",
            ]
    return "\n".join(lines + ["---", ""])


def update_card(folder: str | Path, tags: list[str], metrics: list[dict], section: str) -> None:
    """Replace the evaluation section and the model-index front matter of a model card."""
    path = Path(folder) / "README.md"
    body = path.read_text() if path.exists() else f"# {Path(folder).name}\n\n<!-- eval:start -->\n<!-- eval:end -->\n"
    body = re.sub(r"\A---\n.*?\n---\n", "", body, flags=re.S)
    block = f"<!-- eval:start -->\n## Evaluation\n{section.strip()}\n<!-- eval:end -->"
    body = _EVAL.sub(lambda _: block, body) if _EVAL.search(body) else body.rstrip() + "\n\n" + block + "\n"
    path.write_text(_front_matter(Path(folder).name, tags, metrics) + with_terms(body, Path(folder).name))

"""Model cards: a training section written at export and an evaluation section (with Hub
``model-index`` metadata) written by ``genrepair eval``. Both live in weights/<name>/README.md."""

from __future__ import annotations

import re
from pathlib import Path

_EVAL = re.compile(r"<!-- eval:start -->.*<!-- eval:end -->", re.S)


def training_card(
    name: str, summary: str, data: str, command: str, steps: int, notes: str = "", cpu_minutes: float | None = None
) -> str:
    cpu = f"- CPU time (process time, all runs of the checkpoint): {cpu_minutes:.1f} minutes\n" if cpu_minutes else ""
    return f"""# {name}

{summary}

## Training
- Data: {data}
- Command: `{command}`
- Steps: {steps}
{cpu}- Trained on a 2-core CPU; resumable from `runs/{name}/last.pt` (`--init-from weights/{name}` fine-tunes these weights).
{notes}
<!-- eval:start -->
## Evaluation
Not measured yet: run `genrepair eval`.
<!-- eval:end -->
"""


def _front_matter(name: str, tags: list[str], metrics: list[dict]) -> str:
    lines = ["---", "library_name: genrepair", "license: mit", "tags:"] + [f"- {t}" for t in tags]
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
    path.write_text(_front_matter(Path(folder).name, tags, metrics) + body)

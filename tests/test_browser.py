"""The app in a real browser: headless Chromium (Playwright) clicks through every tab like a person would.

Each test loads the page, opens a tab, uploads an image or clicks an example (on Inpaint it paints the
mask with the mouse), presses the run button and checks the pixel size of the image the page shows.
A screenshot per test lands in ``screenshots/browser/`` (gitignored). Needs ``/usr/bin/chromium``
(Debian package ``chromium``; ``.ci/run`` installs it); tabs whose weights are missing are skipped.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "screenshots" / "browser"
RUN_TIMEOUT_MS = 60_000  # one model run on a busy 2-core CPU

if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

from app_server import app, needs, running_app  # noqa: E402


@pytest.fixture(scope="module")
def url():
    with running_app() as local_url:
        yield local_url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, url, request):
    """A fresh page on the app; its screenshot is saved whether the test passes or fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    page.goto(url)
    page.get_by_role("tab", name="Generate").wait_for()
    try:
        yield page
    finally:
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / f"{request.node.name}.png"
        toasts = page.locator("[data-testid=toast-body]").count()  # fixed at the top: only a viewport shot shows them
        page.screenshot(path=str(shot), full_page=not toasts)
        print(f"screenshot: {shot}")
        context.close()


# ---------------------------------------------------------------- helpers


def open_tab(page, name: str):
    """Click a tab and return its (visible) panel."""
    page.get_by_role("tab", name=name, exact=True).click()
    panel = page.locator("[role=tabpanel]:visible")
    panel.wait_for()
    return panel


def block(panel, label: str):
    """The component whose label starts with ``label``."""
    label_re = re.compile(r"^\s*" + re.escape(label))
    return panel.locator(".block:not(:has(.block))").filter(
        has=panel.page.locator("[data-testid=block-label]", has_text=label_re)
    )


def loaded_sizes(scope, selector: str, count: int) -> list[tuple[int, int]]:
    """Wait until ``count`` images under ``scope`` have loaded; their natural (pixel) sizes."""
    js = """([root, sel, n]) => {
        const imgs = [...root.querySelectorAll(sel)];
        return imgs.length >= n && imgs.every(i => i.complete && i.naturalWidth > 0);
    }"""
    scope.page.wait_for_function(js, arg=[scope.element_handle(), selector, count], timeout=RUN_TIMEOUT_MS)
    sizes = scope.locator(selector).evaluate_all("imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight])")
    return [tuple(s) for s in sizes]


def slider_sizes(panel) -> list[tuple[int, int]]:
    """The two images of the tab's before/after ImageSlider, once the result is shown."""
    return loaded_sizes(panel, "img[data-testid=imageslider-image]", 2)


def toast(page) -> str:
    """The text of the first error/info pop-up, once it has faded in (so the screenshot shows it)."""
    text = page.locator("[data-testid=toast-text]").first
    text.wait_for(timeout=RUN_TIMEOUT_MS)
    page.wait_for_timeout(1000)
    return text.inner_text()


def download_size(page, link) -> tuple[int, int]:
    """Fetch the file behind a download link and return its PNG's size."""
    data = page.request.get(link.get_attribute("href")).body()
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    return img.size


def scene_png(path: Path, width: int, height: int) -> str:
    """A smooth picture with a sharp red block; odd sizes catch any resize or crop on the way."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x / width, y / height, 1 - x * y / (width * height)], 2) * 200 + 20
    rgb[height // 4 : height // 2, width // 4 : 3 * width // 4] = (220, 60, 40)
    Image.fromarray(rgb.astype(np.uint8)).save(path)
    return str(path)


def upload(panel, path: str) -> None:
    """Put a file into the tab's first upload field and wait until the server has it."""
    with panel.page.expect_response(lambda r: "/upload" in r.url and r.request.method == "POST"):
        panel.locator("input[type=file]").first.set_input_files(path)


def upload_to_editor(panel, path: str):
    """Load a background image into the ImageEditor (sent with the run, not before); its canvas."""
    canvas = panel.locator("canvas").first
    canvas.wait_for()  # the editor's drawing surface exists before it accepts a file
    placeholder = panel.get_by_text("Upload an image", exact=True)
    for attempt in range(3):  # a file set while the editor is still starting up is dropped
        panel.locator("input[type=file]").first.set_input_files(path)
        try:
            placeholder.wait_for(state="hidden", timeout=10_000)
            break
        except sync_api.TimeoutError:
            if attempt == 2:
                raise
    panel.page.wait_for_timeout(500)  # let the editor fit the image into the canvas
    return canvas


def run(panel, button: str) -> None:
    panel.get_by_role("button", name=button, exact=True).click()


# ---------------------------------------------------------------- one test per tab


def test_generate_and_interpolate(page):
    needs("gan.emoji")
    panel = open_tab(page, "Generate")
    panel.locator("[data-testid=dataset-cell-0-0]").click()  # example: gan.emoji, 16 samples, seed 7
    run(panel, "Generate")
    tiles = loaded_sizes(block(panel, "Samples"), ".gallery-item img", 16)
    assert tiles == [(64, 64)] * 16
    grid_link = block(panel, "All samples as one PNG").locator("a[href]").first
    assert download_size(page, grid_link) == (4 * 64, 4 * 64)
    # one sample: the button is off until a sample is clicked, and again after a new run (it offered nothing)
    assert panel.get_by_role("button", name="Click a sample to download it alone").is_disabled()
    panel.locator(".gallery-item").nth(2).click()
    picked = panel.get_by_role("button", name="Download sample 3 (PNG)")
    picked.wait_for()
    with page.expect_download() as download:
        picked.click()
    assert Image.open(download.value.path()).size == (64, 64)
    run(panel, "Generate")
    panel.get_by_role("button", name="Click a sample to download it alone").wait_for()
    assert panel.get_by_role("button", name="Click a sample to download it alone").is_disabled()

    panel.get_by_text("Interpolate between two seeds").click()
    run(panel, "Interpolate")
    assert loaded_sizes(block(panel, "Interpolation"), "img", 1) == [(4 * 64, 2 * 64)]  # 8 steps, rows of 4


def test_translate_example(page):
    needs("cyclegan.flat2fluent3d")
    panel = open_tab(page, "Translate")
    panel.locator("[data-testid=dataset-cell-0-1]").click()  # example: smiley_flat.png, 128 x 128
    # as a user would: the example reaches the input (a server round trip) before Translate is pressed
    assert loaded_sizes(block(panel, "Input image"), "img", 1) == [(128, 128)]
    run(panel, "Translate")
    assert slider_sizes(panel) == [(128, 128)] * 2
    if app.has_weights("cyclegan.fluent3d2flat"):
        assert loaded_sizes(block(panel, "Round trip"), "img", 1) == [(128, 128)]
        # the swap button: the reverse model, with the output as its input
        output = panel.locator("img[data-testid=imageslider-image]").nth(1).get_attribute("src")
        shown = block(panel, "Input image").locator("img")
        before = shown.get_attribute("src")
        run(panel, "⇄ Reverse direction")
        model = panel.get_by_role("combobox", name="Model (direction A2B)")
        page.wait_for_function("el => el.value === 'cyclegan.fluent3d2flat'", arg=model.element_handle())
        page.wait_for_function("([el, old]) => el.src !== old", arg=[shown.element_handle(), before])
        loaded_sizes(block(panel, "Input image"), "img", 1)
        pixels = [np.asarray(Image.open(io.BytesIO(page.request.get(u).body())).convert("RGB")) for u in
                  (output, shown.get_attribute("src"))]  # fmt: skip
        assert np.array_equal(*pixels)


def test_denoise_upload(page, tmp_path):
    needs("denoise.color")
    panel = open_tab(page, "Denoise")
    model = panel.get_by_role("combobox", name="Model")
    if app.has_weights("denoise.gray"):  # a gray picture switches to the gray model, a color one back
        Image.open(scene_png(tmp_path / "g.png", 40, 30)).convert("L").save(tmp_path / "g.png")
        upload(panel, str(tmp_path / "g.png"))
        page.wait_for_function("el => el.value === 'denoise.gray'", arg=model.element_handle())
    noisy = np.asarray(Image.open(scene_png(tmp_path / "odd.png", 75, 52)), float)
    noisy += np.random.default_rng(0).normal(0, 10, noisy.shape)  # a clean picture is given back as it is
    Image.fromarray(np.clip(noisy, 0, 255).round().astype(np.uint8)).save(tmp_path / "odd.png")
    upload(panel, str(tmp_path / "odd.png"))
    page.wait_for_function("el => el.value === 'denoise.color'", arg=model.element_handle())
    loaded_sizes(block(panel, "Noisy image"), "img", 1)
    run(panel, "Denoise")
    assert slider_sizes(panel) == [(75, 52)] * 2
    note = panel.get_by_text("noise level used").inner_text()
    assert "estimated from the image" in note
    estimate = round(float(re.search(r"σ = ([\d.]+)", note).group(1)))
    shown = panel.get_by_label("number input for Noise level σ (0-255)")
    page.wait_for_function("([el, v]) => Number(el.value) === v", arg=[shown.element_handle(), estimate])


def test_inpaint_mask_painted_with_the_mouse(page, tmp_path):
    needs("inpaint.photo")
    panel = open_tab(page, "Inpaint")
    canvas = upload_to_editor(panel, scene_png(tmp_path / "odd.png", 150, 110))
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2  # the image sits in the middle

    def stroke(y: float) -> None:
        page.mouse.move(cx - 50, y)
        page.mouse.down()  # the brush on layer 1 ("Mask") is the editor's starting tool
        for step in range(11):
            page.mouse.move(cx - 50 + 10 * step, y + 4 * (step % 2), steps=2)
        page.mouse.up()

    stroke(cy)
    run(panel, "Inpaint")
    assert slider_sizes(panel) == [(150, 110)] * 2
    filled = int(panel.get_by_text(re.compile(r"filled \d+ pixels")).inner_text().split()[2])
    assert 0 < filled < 0.5 * 150 * 110  # a stroke, not the whole picture
    shown = panel.locator("img[data-testid=imageslider-image]").first.get_attribute("src")
    hole = np.asarray(Image.open(io.BytesIO(page.request.get(shown).body())).convert("RGB"), int)
    rows = np.flatnonzero((np.abs(hole - np.asarray(Image.open(tmp_path / "odd.png"), int)) > 0).any(axis=(1, 2)))
    assert rows.size and rows[-1] < 0.8 * 110  # the hole shown is the stroke, in the middle
    link = block(panel, "Filled, full resolution").locator("a[href]").first
    data = page.request.get(link.get_attribute("href")).body()
    assert Image.open(io.BytesIO(data)).mode == "RGB"  # an opaque upload comes back without the canvas's alpha


def test_inpaint_strokes_painted_after_clear_mask_count(page, tmp_path):
    """Clear mask reloads the editor with an empty Mask layer; with Gradio's progress overlay on that update the
    editor came back blank and the next strokes were lost ("The mask is empty")."""
    needs("inpaint.photo")
    panel = open_tab(page, "Inpaint")
    canvas = upload_to_editor(panel, scene_png(tmp_path / "scene.png", 160, 120))
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def stroke(x: float, y: float) -> None:
        page.mouse.move(x, y)
        page.mouse.down()
        for step in range(6):
            page.mouse.move(x + 8 * step, y, steps=2)
        page.mouse.up()

    stroke(cx - 60, cy - 30)  # top left: cleared below
    run(panel, "Clear mask")
    page.wait_for_timeout(3000)  # the editor reloads its image and layers
    stroke(cx + 10, cy + 30)  # bottom right: the only hole
    run(panel, "Inpaint")
    assert slider_sizes(panel) == [(160, 120)] * 2
    shown = panel.locator("img[data-testid=imageslider-image]").first.get_attribute("src")
    hole = np.asarray(Image.open(io.BytesIO(page.request.get(shown).body())).convert("RGB"), int)
    changed = (np.abs(hole - np.asarray(Image.open(tmp_path / "scene.png"), int)) > 0).any(2)
    assert changed[60:, 80:].any(), "the stroke painted after Clear mask is the hole"
    assert not changed[:60, :80].any(), "the cleared stroke is not"


def test_inpaint_example_with_a_mask_file(page):
    """The second example brings a mask file: loading the example into the editor used to drop it again (the
    editor's upload event cleared the mask), so the example always said the mask was empty."""
    needs("inpaint.photo")
    panel = open_tab(page, "Inpaint")
    panel.locator("[data-testid=dataset-cell-1-1]").click()  # example: landscape.png + landscape_mask.png
    page.wait_for_timeout(3000)  # the example reaches the editor and the mask box (server round trips)
    run(panel, "Inpaint")
    note = panel.get_by_text(re.compile(r"filled \d+ pixels"))
    note.wait_for(timeout=60_000)
    assert "from the uploaded mask file" in note.inner_text()


# ---------------------------------------------------------------- bad input reaches the user as a message


def test_inpaint_without_mask_shows_an_error(page):
    panel = open_tab(page, "Inpaint")
    upload_to_editor(panel, str(REPO / "examples" / "landscape.png"))
    run(panel, "Inpaint")
    assert "mask is empty" in toast(page)


def test_file_the_editor_cannot_open_is_explained(page, tmp_path):
    """The browser's editor drops a damaged file without a word; Inpaint then says why the editor is empty."""
    broken = tmp_path / "broken.png"
    broken.write_bytes((REPO / "examples" / "landscape.png").read_bytes()[:300])
    panel = open_tab(page, "Inpaint")
    panel.locator("canvas").first.wait_for()
    panel.locator("input[type=file]").first.set_input_files(str(broken))
    page.wait_for_timeout(1000)
    run(panel, "Inpaint")
    assert "your browser could not open the file" in toast(page)


def test_truncated_upload_shows_an_error(page, tmp_path):
    needs("denoise.color")
    broken = tmp_path / "broken.png"
    broken.write_bytes((REPO / "examples" / "landscape.png").read_bytes()[:300])
    panel = open_tab(page, "Denoise")
    upload(panel, scene_png(tmp_path / "good.png", 40, 30))  # first a good run, whose note must not stay
    run(panel, "Denoise")
    panel.get_by_text("noise level used").wait_for()
    upload(panel, str(broken))
    block(panel, "Noisy image").locator("img").wait_for(state="attached")  # uploaded, though it cannot show
    run(panel, "Denoise")
    assert "damaged or truncated" in toast(page)
    assert panel.get_by_text("noise level used").count() == 0  # the good run's note is gone, not left under the error
    # the run's outputs show the error badge, not the σ slider (an output too: the estimate goes there)
    assert block(panel, "Noisy | denoised").locator("span.error").count() == 1
    sigma = panel.get_by_label("number input for Noise level σ (0-255)")
    sigma_block = sigma.locator("xpath=ancestor::div[contains(concat(' ', @class, ' '), ' block ')][1]")
    assert sigma_block.locator("[data-testid=status-tracker]").count() == 1
    assert sigma_block.locator("span.error").count() == 0

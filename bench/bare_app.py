"""The bare Flask app of bench/webhook_load.py: POST /webhook only answers 200 (gunicorn `bench.bare_app:app`)."""
from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.post("/webhook")
def webhook() -> tuple[dict[str, int], int]:
    return {"ok": 1}, 200


@app.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    return {"status": "ok"}, 200

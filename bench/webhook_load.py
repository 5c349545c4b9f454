"""Webhook throughput and latency under load, beside a bare Flask app, on the Procfile's gunicorn.

Usage: .venv/bin/python bench/webhook_load.py [--seconds 15] [--rounds 3] [--connections 8] [--tenants 5]
           [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_load] [--redis-url redis://127.0.0.1:6379/5]
           [--key-store-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_load_keys] [--floor]

Runs the Procfile's `web` line as it is (`flask db upgrade && gunicorn --workers ${WEB_CONCURRENCY:-2} ...
"app:create_app()"`, access log included, to a file) and the same gunicorn command line with `bench.bare_app:app`, a
Flask app that only answers 200. `wrk` (installed from Debian when missing) drives both in turns, `--rounds` times,
each for `--seconds`, with `--connections` connections from one thread: every request to the real app is a signed
voice note of one of `--tenants` verified tenants with its own message id, read from files written beforehand (the
signature is HMAC-SHA256 of the exact bytes, as Meta sends them); bench/webhook_load.lua sends each body at most once.
Nothing processes the queue (no worker runs): what is measured is the web role's acknowledgement.
With --floor, bench/floor_app.py (the webhook cut down to signature, parse, one raw INSERT and RQ's job) runs as a
third contender in every round, counted with the webhook.

Afterwards, with both servers stopped, it counts: every body answered 200 must have been answered "new" and its row
must be in the database (its wamid pseudonym), no row may exist twice or for a body never sent, and every row must
have exactly one RQ job (`inbound-<id>`, queued or waiting in its tenant's rate-limit line), none twice.

The database must be a scratch database whose name starts with "bench" (created when missing; its public schema is
dropped and migrated again) or a SQLite URL; the Redis database number is flushed before and after.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import redis
import requests
from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from store.crypto import ContentCipher, parse_master_key  # noqa: E402
from tests.helpers import voice_body  # noqa: E402
from whatsapp.signature import sign_body  # noqa: E402

SECRET = "bench-app-secret"
CONTENT_KEY = "11" * 32
LUA = Path(__file__).resolve().parent / "webhook_load.lua"
BARE_APP = "bench.bare_app:app"
FLOOR_APP = "bench.floor_app:app"


def ensure_wrk() -> str:
    """wrk from Debian when missing (root or sudo), as scripts/bootstrap.sh installs its packages."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print("installing the Debian package wrk", flush=True)
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and could not be installed")
    return found


def procfile_web() -> tuple[str, str]:
    """The Procfile's web role: (its migration command, its gunicorn command), as shell text."""
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    migrate, _, serve = line.removeprefix("web:").strip().partition("&&")
    if "gunicorn" not in serve or "app:create_app()" not in serve:
        raise SystemExit(f"the Procfile's web line is not `migrate && gunicorn ... app:create_app()`: {line}")
    return migrate.strip(), serve.strip()


def reset_database(url: str) -> None:
    """Refuse anything but a scratch database; create it when missing, empty its public schema."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return
    if not (parsed.database or "").startswith("bench"):
        raise SystemExit(f"refusing {parsed.database!r}: the load bench needs a scratch database named bench*")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}).scalar():
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(command: str, env: dict[str, str], log: Path, port: int) -> subprocess.Popen[bytes]:
    """Start a role's shell command in its own process group; wait for /healthz."""
    with log.open("ab") as out:
        process = subprocess.Popen(["sh", "-c", command], cwd=ROOT, env={**env, "PORT": str(port)}, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{command!r} exited with {process.returncode}; see {log}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                return process
        except requests.RequestException:
            time.sleep(0.2)
    stop(process)
    raise SystemExit(f"{command!r} did not answer /healthz; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the role's process group (gunicorn finishes the requests in hand), then wait until every
    process of the group is gone: only then are the rows and jobs final."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        process.poll()
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def add_tenants(env: dict[str, str], count: int) -> list[str]:
    phones = [f"+49176{5550000 + i:07d}" for i in range(count)]
    for i, phone in enumerate(phones):
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", "tenant", "add", "--phone", phone,
                        "--company", f"Bench {i} GmbH", "--street", "Werkstraße 5", "--postal-code", "50667",
                        "--city", "Köln", "--tax-number", "217/5937/0123", "--iban", "DE89370400440532013000",
                        "--email", f"bench{i}@example.de", "--verified"],
                       env=env, cwd=ROOT, check=True, capture_output=True)
    return phones


def write_bodies(prefix: Path, count: int, phones: list[str]) -> list[str]:
    """`count` signed voice notes, each with its own message id, round-robin over the tenants, into
    prefix-0.txt (one wrk thread). Returns the message ids in file order."""
    ids: list[str] = []
    now = str(int(time.time()))
    with open(f"{prefix}-0.txt", "w") as out:
        template = voice_body(phones[0], "wamid.x", "media-1")
        for i in range(count):
            phone = phones[i % len(phones)]
            wamid = f"wamid.{uuid.uuid4().hex}"
            value = template["entry"][0]["changes"][0]["value"]
            value["contacts"][0].update({"wa_id": phone.lstrip("+"), "user_id": f"DE.{phone.lstrip('+')}"})
            value["messages"][0].update({"from": phone.lstrip("+"), "id": wamid, "timestamp": now,
                                         "audio": {**value["messages"][0]["audio"], "id": f"media-{i}"}})
            raw = json.dumps(template).encode()
            out.write(f"{sign_body(SECRET, raw)}\t{raw.decode()}\n")
            ids.append(wamid)
    return ids


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the given processes so far (Linux /proc; vanished processes count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / os.sysconf("SC_CLK_TCK")


def group_pids(pgid: int) -> list[int]:
    """The processes of a process group (the role's shell, the gunicorn master and its workers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def backend_pids(url: str) -> list[int]:
    """PostgreSQL server processes serving the bench database (the web workers' pooled connections)."""
    if make_url(url).get_backend_name() != "postgresql":
        return []
    engine = create_engine(url)
    with engine.connect() as conn:
        pids = [int(p) for p in conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = "
                                                  "current_database() AND pid <> pg_backend_pid()")).scalars()]
    engine.dispose()
    return pids


def redis_pid(client: redis.Redis) -> list[int]:
    return [int(client.info("server")["process_id"])]


def run_wrk(wrk: str, port: int, prefix: Path, mode: str, seconds: int, connections: int) -> dict[str, Any]:
    command = [wrk, "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "10s", "-s", str(LUA),
               f"http://127.0.0.1:{port}/webhook", "--", str(prefix), mode]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    match = re.search(r"^RESULT (.*)$", output, re.MULTILINE)
    if not match:
        raise SystemExit(f"wrk printed no result:\n{output}")
    result: dict[str, Any] = json.loads(match.group(1))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    wrk_seconds = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    result["wrk_cpu_ms"] = wrk_seconds * 1000 / max(result["requests"], 1)
    return result


def count_jobs(client: redis.Redis, queue_name: str) -> Counter[str]:
    """Every inbound job id as often as RQ holds it: in the queue or in a tenant's rate-limit waiting line."""
    held: Counter[str] = Counter()
    for job_id in client.lrange(f"rq:queue:{queue_name}", 0, -1):
        held[job_id.decode()] += 1
    for key in client.scan_iter(match=f"rq:rl:{queue_name}:tenant-*:rate_limited", count=1000):
        for job_id in client.zrange(key, 0, -1):
            held[job_id.decode()] += 1
    return held


def check(url: str, redis_url: str, queue_name: str, sent_ids: list[str], answered: int, new: int,
          enqueued: int) -> list[str]:
    """Nothing lost, nothing doubled: rows against the bodies sent, jobs against the rows."""
    cipher = ContentCipher(parse_master_key(CONTENT_KEY), Path(tempfile.gettempdir()))
    sent = {cipher.pseudonym(i) for i in sent_ids}
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, wa_message_hmac FROM inbound_messages")).all()
    engine.dispose()
    hmacs = Counter(r.wa_message_hmac for r in rows)
    client = redis.Redis.from_url(redis_url)
    jobs = count_jobs(client, queue_name)
    expected_jobs = {f"inbound-{r.id}" for r in rows}
    problems = []
    if new != answered:
        problems.append(f"{answered - new} bodies answered 200 without a new row (duplicates sent?)")
    if enqueued != new:
        problems.append(f"{new - enqueued} new rows answered without their job")
    if len(rows) < new:
        problems.append(f"lost: {new} answered new, {len(rows)} rows")
    if len(rows) > len(sent):
        problems.append(f"{len(rows)} rows for {len(sent)} bodies sent")
    if [h for h, n in hmacs.items() if n > 1]:
        problems.append("duplicate rows")
    if set(hmacs) - sent:
        problems.append(f"{len(set(hmacs) - sent)} rows of bodies never sent")
    if set(jobs) != expected_jobs:
        problems.append(f"jobs: {len(expected_jobs - set(jobs))} rows without a job, "
                        f"{len(set(jobs) - expected_jobs)} jobs without a row")
    if [j for j, n in jobs.items() if n > 1]:
        problems.append(f"{sum(1 for n in jobs.values() if n > 1)} jobs held twice")
    print(f"\ncounted: {len(sent)} bodies sent, {answered} answered 200 (all 'new': {new == answered}), "
          f"{len(rows)} rows ({len(rows) - new} from requests in flight when wrk stopped), "
          f"{sum(jobs.values())} jobs held by RQ for {len(jobs)} ids")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--max-rate", type=int, default=4000,
                        help="bodies written per round: seconds x max-rate (each sent once)")
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_load")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--key-store-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_load_keys",
                        help="production needs a key store of its own (a scratch database named bench*)")
    parser.add_argument("--web-concurrency", default=os.environ.get("WEB_CONCURRENCY", "2"))
    parser.add_argument("--floor", action="store_true",
                        help="also run bench/floor_app.py, the least a webhook can do and still store and enqueue "
                             "(PostgreSQL only)")
    args = parser.parse_args()
    wrk = ensure_wrk()
    migrate, serve = procfile_web()
    queue_name = "bench-load"
    with tempfile.TemporaryDirectory(prefix="webhook-load-") as tmp_dir:
        tmp = Path(tmp_dir)
        url = args.database_url if not args.database_url.startswith("sqlite") else f"sqlite:///{tmp / 'bench.db'}"
        reset_database(url)
        reset_database(args.key_store_url)
        client = redis.Redis.from_url(args.redis_url)
        client.flushdb()
        env = {**os.environ, "APP_ENV": "production", "FLASK_SKIP_DOTENV": "1", "DATABASE_URL": url,
               "REDIS_URL": args.redis_url, "QUEUE_NAME": queue_name, "SECRET_KEY": "b" * 64,
               "CONTENT_KEY": CONTENT_KEY, "WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_VERIFY_TOKEN": "bench",
               "KEY_STORE_URL": args.key_store_url, "INSTANCE_PATH": str(tmp / "instance"),
               "WEB_CONCURRENCY": str(args.web_concurrency),
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        contenders = ["webhook", *(["floor"] if args.floor else [])]
        servers: dict[str, subprocess.Popen[bytes]] = {}
        ports = {name: free_port() for name in ("bare", *contenders)}
        try:
            servers["webhook"] = start(f"{migrate} && {serve}", env, tmp / "webhook.log", ports["webhook"])
            for name, target in (("bare", BARE_APP), *([("floor", FLOOR_APP)] if args.floor else [])):
                servers[name] = start(serve.replace("app:create_app()", shlex.quote(target)), env,
                                      tmp / f"{name}.log", ports[name])
        except BaseException:
            for server in servers.values():
                stop(server)
            raise
        print(f"gunicorn as the Procfile runs it: {serve}\n(WEB_CONCURRENCY={args.web_concurrency}; "
              f"{os.cpu_count()} CPUs; wrk -t1 -c{args.connections}, {args.seconds:g} s a run; database "
              f"{make_url(url).get_backend_name()}; Redis {args.redis_url})", flush=True)
        sent_ids: list[str] = []
        answered = new = enqueued = 0
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in ("bare", *contenders)}
        try:
            phones = add_tenants(env, args.tenants)
            bare_prefix = tmp / "bare"
            write_bodies(bare_prefix, 2000, phones)
            for round_no in range(args.rounds + 1):  # round 0 warms every server up and is not reported
                seconds = args.seconds if round_no else 3
                bare_cpu = cpu_seconds(group_pids(servers["bare"].pid))
                bare = run_wrk(wrk, ports["bare"], bare_prefix, "cycle", seconds, args.connections)
                bare["web_cpu_ms"] = (cpu_seconds(group_pids(servers["bare"].pid)) - bare_cpu) * 1000 / bare["requests"]
                measured = {"bare": bare}
                for name in contenders:
                    prefix = tmp / f"{name}-round{round_no}"
                    ids = write_bodies(prefix, int(seconds * args.max_rate), phones)
                    others = backend_pids(url) + redis_pid(client)
                    web = servers[name].pid
                    before = cpu_seconds(group_pids(web)), cpu_seconds(others[:-1]), cpu_seconds(others[-1:])
                    result = run_wrk(wrk, ports[name], prefix, "once", seconds, args.connections)
                    after = cpu_seconds(group_pids(web)), cpu_seconds(others[:-1]), cpu_seconds(others[-1:])
                    for key, b, a in zip(("web_cpu_ms", "db_cpu_ms", "redis_cpu_ms"), before, after, strict=True):
                        result[key] = (a - b) * 1000 / result["requests"]
                    [thread] = result["threads"]
                    if thread["exhausted"]:
                        raise SystemExit(f"the {name} run used up its bodies: raise --max-rate")
                    sent_ids += ids[:thread["sent"]]
                    answered, new = answered + thread["ok"], new + thread["new"]
                    enqueued += thread["enqueued"]
                    measured[name] = result
                if round_no:
                    for name, result in measured.items():
                        results[name].append(result)
                    print(f"round {round_no}: " + " | ".join(f"{name} {r['rps']:7.0f} req/s p99 "
                                                             f"{r['p99_us'] / 1000:6.1f} ms"
                                                             for name, r in measured.items()), flush=True)
                for name, result in measured.items():
                    errors = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors",
                                                     "status_errors", "timeouts"))
                    if errors:
                        print(f"  {name}: {errors} errors {json.dumps(result)}")
        finally:
            for server in servers.values():
                stop(server)
        report(results)
        problems = check(url, args.redis_url, queue_name, sent_ids, answered, new, enqueued)
        client.flushdb()
        if problems:
            print("FAILED: " + "; ".join(problems))
            raise SystemExit(1)
        print("nothing lost, nothing doubled")


def report(results: dict[str, list[dict[str, Any]]]) -> None:
    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    print(f"\nmedian of {len(results['bare'])} rounds   req/s    p50 ms   p90 ms   p99 ms   max ms")
    for name in results:
        print(f"{name:<20} {median(name, 'rps'):8.0f} {median(name, 'p50_us') / 1000:9.2f} "
              f"{median(name, 'p90_us') / 1000:8.2f} {median(name, 'p99_us') / 1000:8.2f} "
              f"{median(name, 'max_us') / 1000:8.1f}")
    print(f"CPU ms a request (median): bare web workers {median('bare', 'web_cpu_ms'):.2f}, wrk "
          f"{median('bare', 'wrk_cpu_ms'):.2f}")
    for name in results.keys() - {"bare"}:
        print(f"  {name}: web workers {median(name, 'web_cpu_ms'):.2f}, PostgreSQL backends "
              f"{median(name, 'db_cpu_ms'):.2f}, Redis server {median(name, 'redis_cpu_ms'):.2f}, wrk "
              f"{median(name, 'wrk_cpu_ms'):.2f}")
    for name in sorted(results.keys() - {"bare"}, reverse=True):
        throughput = median(name, "rps") / median("bare", "rps")
        tail = median(name, "p99_us") / median("bare", "p99_us")
        print(f"{name} / bare: throughput {throughput:.2f}x (target >= 0.5x), p99 {tail:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()

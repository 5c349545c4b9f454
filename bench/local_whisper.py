"""TRANSCRIBE_BACKEND=local: real-time factor and the worker's resident memory with the model loaded.

Usage: .venv/bin/python bench/local_whisper.py [--model DIR] [--rounds 3] [--beam 1]
Transcribes every sample voice note (tests/data/samples) through LocalWhisperTranscriber, as the worker does
(Ogg/Opus decoded in memory, language hint, no vocabulary), `--rounds` times after one warm-up pass.
Real-time factor = seconds of audio per second of wall time (target >= 10x for base on 2 cores; reported,
not asserted). Memory: VmRSS of this process after the app is built and warmed like `flask worker` does,
then after loading the model, then after transcribing; and the peak (ru_maxrss). Without --model, Whisper
base is assembled from the installed model packages into a temporary folder.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from faster_whisper import decode_audio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from documents.warmup import warm_up  # noqa: E402
from extraction import local_whisper  # noqa: E402
from extraction.local_whisper import LocalWhisperTranscriber, assemble_model  # noqa: E402
from tests.helpers import SAMPLES  # noqa: E402

OGG = "audio/ogg; codecs=opus"


def rss_mb() -> float:
    """This process's resident set size now (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def audio_seconds(audio: bytes) -> float:
    return len(decode_audio(io.BytesIO(audio))) / 16000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=None, help="a CTranslate2 Whisper model folder")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--beam", type=int, default=local_whisper.BEAM_SIZE, help="beam size (the service uses "
                        f"{local_whisper.BEAM_SIZE})")
    args = parser.parse_args()
    local_whisper.BEAM_SIZE = args.beam
    cases = json.loads((SAMPLES / "cases.json").read_text())
    samples = [(c["id"], c["language"], (SAMPLES / c["audio"]).read_bytes()) for c in cases]
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        create_app({"instance_path": str(tmp), "database_url": f"sqlite:///{tmp / 'bench.db'}", "secret_key": "x",
                    "content_key": "22" * 32})
        warm_up()
        worker_mb = rss_mb()
        folder = args.model or assemble_model(tmp / "whisper-base").folder
        transcriber = LocalWhisperTranscriber(folder)
        start = time.perf_counter()
        transcriber.load()
        load_s = time.perf_counter() - start
        loaded_mb = rss_mb()

        durations = {case_id: audio_seconds(audio) for case_id, _language, audio in samples}
        for _case_id, language, audio in samples:  # warm-up pass
            transcriber.transcribe(audio, OGG, language, None)
        walls: dict[str, list[float]] = {case_id: [] for case_id in durations}
        cpu_start = time.process_time()
        wall_start = time.perf_counter()
        for _ in range(args.rounds):
            for case_id, language, audio in samples:
                start = time.perf_counter()
                transcriber.transcribe(audio, OGG, language, None)
                walls[case_id].append(time.perf_counter() - start)
        total_wall = time.perf_counter() - wall_start
        total_cpu = time.process_time() - cpu_start
        after_mb = rss_mb()

    print(f"model: {folder} (beam {args.beam}, int8, {len(os.sched_getaffinity(0))} threads), "
          f"loaded in {load_s:.2f} s")
    print(f"{'sample':<14}{'audio s':>9}{'p50 s':>8}{'min s':>8}{'RTF p50':>9}")
    for case_id, seconds in durations.items():
        p50, best = statistics.median(walls[case_id]), min(walls[case_id])
        print(f"{case_id:<14}{seconds:>9.1f}{p50:>8.2f}{best:>8.2f}{seconds / p50:>8.1f}x")
    audio_total = sum(durations.values()) * args.rounds
    best_total = sum(min(w) for w in walls.values())
    print(f"real-time factor over {args.rounds} rounds: {audio_total / total_wall:.1f}x "
          f"({audio_total:.0f} s of audio in {total_wall:.1f} s wall, {total_cpu:.1f} s CPU); "
          f"best round per sample: {sum(durations.values()) / best_total:.1f}x (target >= 10x)")
    threads = len(os.sched_getaffinity(0))
    print(f"estimate for idle cores: {audio_total / (total_cpu / threads):.1f}x (audio seconds per CPU second x "
          f"{threads} threads; the wall figure is lower while other processes share the cores)")
    print(f"resident memory: worker warmed {worker_mb:.0f} MB, with the model {loaded_mb:.0f} MB "
          f"(+{loaded_mb - worker_mb:.0f}), after transcribing {after_mb:.0f} MB (+{after_mb - worker_mb:.0f}); "
          f"peak {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()

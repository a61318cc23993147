"""mlcycle's line protocol: one ``MLCYCLE {json}`` line per message on stdout.

The full protocol is documented at the top of src/training/command-trainer.ts; this module only
writes it, so a Python trainer never formats the lines by hand.
"""
from __future__ import annotations

import json
import math
import sys
from typing import IO, Optional

PREFIX = "MLCYCLE "


def _emit(message: dict, stream: Optional[IO[str]] = None) -> None:
    out = stream or sys.stdout
    # One write per line and a flush: mlcycle reads the lines while the program runs (progress,
    # checkpoints), so they must not wait in a buffer.
    out.write(PREFIX + json.dumps(message, separators=(",", ":")) + "\n")
    out.flush()


def metric(name: str, value: float, epoch: Optional[int] = None, total: Optional[int] = None, stream: Optional[IO[str]] = None) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError("metric name must be a non-empty string")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"metric {name!r} must be finite, got {value!r}")
    message: dict = {"type": "metric", "name": name, "value": v}
    if epoch is not None:
        if int(epoch) < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch!r}")
        message["epoch"] = int(epoch)
    if total is not None:
        if int(total) < 1:
            raise ValueError(f"total must be >= 1, got {total!r}")
        message["total"] = int(total)
    _emit(message, stream)


def checkpoint(epoch: int, path: Optional[str] = None, stream: Optional[IO[str]] = None) -> None:
    if int(epoch) < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch!r}")
    message: dict = {"type": "checkpoint", "epoch": int(epoch)}
    if path is not None:
        message["path"] = path
    _emit(message, stream)

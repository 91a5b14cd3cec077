"""A fit's loss history as CSV: one row per iteration (shared by the command line and the app)."""

from __future__ import annotations

import csv
import io
import math
from typing import Iterable, Mapping

from core.fitting.config import LOSS_TERMS

HISTORY_COLUMNS = ("iteration", "total", *LOSS_TERMS, "seconds")


def history_csv(history: Iterable[Mapping[str, float]]) -> str:
    """The records of ``Fitter.history`` as CSV text, columns HISTORY_COLUMNS; unused terms are empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HISTORY_COLUMNS)
    for i, record in enumerate(history):
        missing = [c for c in ("iteration", "total") if c not in record]
        if missing:
            raise ValueError(f"history record {i} lacks {missing}")
        writer.writerow([_csv_value(record.get(column, math.nan)) for column in HISTORY_COLUMNS])
    return out.getvalue()


def _csv_value(value: float) -> str:
    value = float(value)
    if math.isnan(value):
        return ""
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)

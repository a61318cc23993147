"""The data splits mlcycle hands a command trainer, as Parquet files.

Feature values are typed exactly as mlcycle later feeds them to the exported ONNX model, so what a
trainer fits on is what evaluation and serving score with:

* ``number``   → float (missing: NaN)
* ``boolean``  → float 0.0 / 1.0 (missing: NaN)
* ``category`` → str (missing: the empty string)

The target is encoded by task: binary → 0/1 (1 = the positive class), multiclass → the class index
into ``classes``, regression → the float value. The test split carries no target column: mlcycle
scores the held-out rows itself.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

NUMERIC_TYPES = ("number", "boolean")


@dataclass(frozen=True)
class Feature:
    name: str
    type: str  # number | boolean | category
    values: Optional[List[str]] = None


@dataclass(frozen=True)
class Schema:
    target: str
    target_type: str
    task: str  # binary | multiclass | regression
    features: List[Feature]
    positive: Optional[str] = None
    classes: Optional[List[str]] = None

    @property
    def feature_names(self) -> List[str]:
        return [f.name for f in self.features]

    @property
    def numeric(self) -> bool:
        return all(f.type in NUMERIC_TYPES for f in self.features)

    @staticmethod
    def load(path: str | Path) -> "Schema":
        doc = json.loads(Path(path).read_text())
        if doc.get("format") != "mlcycle-trainer-data/v1":
            raise ValueError(f"{path}: not an mlcycle-trainer-data/v1 document")
        target = doc["target"]
        features = [Feature(f["name"], f["type"], f.get("values")) for f in doc["features"]]
        for f in features:
            if f.type not in ("number", "boolean", "category"):
                raise ValueError(f"{path}: feature {f.name!r} has unknown type {f.type!r}")
        task = doc["task"]
        if task not in ("binary", "multiclass", "regression"):
            raise ValueError(f"{path}: unknown task {task!r}")
        return Schema(target["name"], target["type"], task, features, target.get("positive"), doc.get("classes"))


def _bool_to_float(values: Any) -> np.ndarray:
    out = np.full(len(values), np.nan, dtype=np.float64)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        if isinstance(v, str):
            s = v.strip().lower()
            out[i] = 1.0 if s in ("true", "1", "yes") else 0.0 if s in ("false", "0", "no") else np.nan
        else:
            out[i] = 1.0 if bool(v) else 0.0
    return out


def encode_target(schema: Schema, values: Sequence[Any]) -> np.ndarray:
    """The target as mlcycle's evaluation encodes it (see the module doc)."""
    n = len(values)
    if schema.task == "regression":
        return np.asarray([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    if schema.task == "multiclass":
        classes = schema.classes or []
        index = {c: i for i, c in enumerate(classes)}
        out = np.empty(n, dtype=np.int64)
        for i, v in enumerate(values):
            key = str(v)
            if key not in index:
                raise ValueError(f"target {schema.target!r} has the value {v!r}; expected one of {classes}")
            out[i] = index[key]
        return out
    # binary
    out = np.empty(n, dtype=np.int64)
    if schema.target_type == "boolean":
        f = _bool_to_float(values)
        if np.isnan(f).any():
            raise ValueError(f"target {schema.target!r} has a value that is not true/false")
        return f.astype(np.int64)
    if schema.target_type == "category":
        for i, v in enumerate(values):
            out[i] = 1 if str(v) == schema.positive else 0
        return out
    for i, v in enumerate(values):
        if v not in (0, 1, 0.0, 1.0):
            raise ValueError(f"target {schema.target!r} has the value {v!r}; expected 0 or 1")
        out[i] = int(v)
    return out


@dataclass
class Split:
    """One split (train, validation or test) of the dataset."""

    name: str
    path: Path
    schema: Schema
    _table: Any = field(default=None, repr=False)

    def to_arrow(self):
        """The Parquet file as a pyarrow Table, columns as stored."""
        if self._table is None:
            import pyarrow.parquet as pq

            self._table = pq.read_table(self.path)
        return self._table

    def __len__(self) -> int:
        return self.to_arrow().num_rows

    @property
    def has_target(self) -> bool:
        return self.schema.target in self.to_arrow().column_names

    def X(self):
        """Features as a pandas DataFrame, one column per feature in schema order (see the module doc)."""
        import pandas as pd

        table = self.to_arrow()
        cols: Dict[str, Any] = {}
        for f in self.schema.features:
            if f.name not in table.column_names:
                raise KeyError(f"{self.name} split has no column {f.name!r}")
            raw = table.column(f.name).to_pylist()
            if f.type == "number":
                cols[f.name] = np.asarray([np.nan if v is None else float(v) for v in raw], dtype=np.float64)
            elif f.type == "boolean":
                cols[f.name] = _bool_to_float(raw)
            else:
                cols[f.name] = np.asarray(["" if v is None else str(v) for v in raw], dtype=object)
        return pd.DataFrame(cols, columns=self.schema.feature_names)

    def X_numpy(self, dtype: Any = np.float32) -> np.ndarray:
        """Features as one numeric matrix (rows × features, schema order); every feature must be number or boolean."""
        bad = [f.name for f in self.schema.features if f.type not in NUMERIC_TYPES]
        if bad:
            raise TypeError(
                f"X_numpy needs numeric features; {', '.join(bad)} {'is' if len(bad) == 1 else 'are'} categorical: "
                "encode them in a scikit-learn pipeline (X() gives a DataFrame) or leave them out of the schema"
            )
        return self.X().to_numpy(dtype=dtype)

    def y(self) -> np.ndarray:
        """The encoded target (see encode_target); the test split has none."""
        if not self.has_target:
            raise KeyError(f"the {self.name} split carries no target: mlcycle scores the held-out rows itself")
        return encode_target(self.schema, self.to_arrow().column(self.schema.target).to_pylist())

    def to_pandas(self):
        """All columns as stored, as a pandas DataFrame."""
        return self.to_arrow().to_pandas()

"""mlcycle_trainer: write an mlcycle ``trainer: command`` in Python.

    import mlcycle_trainer
    ctx = mlcycle_trainer.context()
    X, y = ctx.train.X(), ctx.train.y()
    model = make_pipeline(...).fit(X, y)
    ctx.report("val_auc", roc_auc_score(ctx.validation.y(), model.predict_proba(ctx.validation.X())[:, 1]))
    ctx.save_model(model)              # model.onnx + mlcycle-model.json in MLCYCLE_OUTPUT_DIR

mlcycle scores ``model.onnx`` on the held-out test rows itself; what ``report`` prints are training
metrics (progress, curves), never what the evaluation gate judges.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Union

from . import protocol
from .data import Feature, Schema, Split, encode_target
from .onnx_export import ExportError

__all__ = ["context", "Context", "Schema", "Feature", "Split", "ExportError", "encode_target", "MODEL_FILE", "META_FILE", "PREDICTIONS_FILE"]

MODEL_FILE = "model.onnx"
META_FILE = "mlcycle-model.json"
PREDICTIONS_FILE = "predictions.json"


class ContextError(RuntimeError):
    pass


def _env(name: str, env: Dict[str, str]) -> str:
    value = env.get(name)
    if not value:
        raise ContextError(f"{name} is not set: run this trainer through mlcycle (trainer: command), or set the MLCYCLE_* variables")
    return value


class Context:
    """What mlcycle hands the trainer; see the module doc and README.md."""

    def __init__(self, env: Optional[Dict[str, str]] = None) -> None:
        e = dict(os.environ if env is None else env)
        self._env = e
        self.schema = Schema.load(_env("MLCYCLE_SCHEMA_FILE", e))
        self.task: str = self.schema.task
        self.target: str = self.schema.target
        self.features = self.schema.feature_names
        self.train = Split("train", Path(_env("MLCYCLE_TRAIN_FILE", e)), self.schema)
        self.validation = Split("validation", Path(_env("MLCYCLE_VALIDATION_FILE", e)), self.schema)
        self.test = Split("test", Path(_env("MLCYCLE_TEST_FILE", e)), self.schema)
        params_file = e.get("MLCYCLE_PARAMS_FILE")
        self.params: Dict[str, Any] = json.loads(Path(params_file).read_text()) if params_file else {}
        self.output_dir = Path(_env("MLCYCLE_OUTPUT_DIR", e))
        self.checkpoint_dir = Path(_env("MLCYCLE_CHECKPOINT_DIR", e))
        self.gpu: Optional[str] = e.get("CUDA_VISIBLE_DEVICES")
        resume = e.get("MLCYCLE_RESUME_FROM")
        self._resume = Path(resume) if resume else None
        self._resume_epoch = int(e.get("MLCYCLE_RESUME_EPOCH", "0") or 0)

    # ---- params --------------------------------------------------------------------------------
    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    # ---- metrics and checkpoints ---------------------------------------------------------------
    def report(self, metric: str, value: float, epoch: Optional[int] = None, total: Optional[int] = None) -> None:
        """A training metric (progress, curve); `loss` with an epoch feeds the training curve."""
        protocol.metric(metric, value, epoch=epoch, total=total)

    def checkpoint(self, path_or_dir: Union[str, Path], epoch: int) -> Path:
        """Announces a finished checkpoint after `epoch` (1-based).

        A path inside MLCYCLE_CHECKPOINT_DIR is announced as is; anything else (a file or folder the
        trainer wrote elsewhere) is copied to ``<checkpoint dir>/epoch-<epoch>`` first. Do not change a
        checkpoint's files after announcing it. Returns the checkpoint's folder.
        """
        src = Path(path_or_dir).resolve()
        root = self.checkpoint_dir.resolve()
        if not src.exists():
            raise FileNotFoundError(f"checkpoint {src} does not exist")
        if src == root or root in src.parents:
            target = src if src.is_dir() else src.parent
        else:
            target = root / f"epoch-{int(epoch)}"
            tmp = root / f".epoch-{int(epoch)}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            if src.is_dir():
                shutil.copytree(src, tmp)
            else:
                tmp.mkdir(parents=True)
                shutil.copy2(src, tmp / src.name)
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)
        rel = os.path.relpath(target, root)
        protocol.checkpoint(int(epoch), None if rel == "." else rel)
        return target

    def checkpoint_path(self, epoch: int) -> Path:
        """A fresh folder to write the checkpoint of `epoch` into (then call checkpoint() with it)."""
        p = self.checkpoint_dir / f"epoch-{int(epoch)}"
        p.mkdir(parents=True, exist_ok=True)
        return p

    def resume_from(self) -> Optional[Path]:
        """The folder of the last checkpoint when this attempt resumes one, else None."""
        return self._resume

    @property
    def resume_epoch(self) -> int:
        """The epoch of the checkpoint resume_from() returns (0 when starting fresh)."""
        return self._resume_epoch if self._resume is not None else 0

    # ---- the model -------------------------------------------------------------------------------
    def save_model(self, obj: Any, flavor: Optional[str] = None, output: str = "logits", verify: bool = True) -> Path:
        """Exports `obj` to ONNX (model.onnx + mlcycle-model.json in the output folder).

        flavor: sklearn | lightgbm | xgboost | torch | onnx (guessed from the object when absent).
        output: for torch only, what the module returns: logits, probabilities or value.
        verify: score the validation rows with onnxruntime (when installed) and compare with the
        object's own predictions, so a faulty export fails here rather than in evaluation.
        """
        from . import onnx_export

        model, meta = onnx_export.export(obj, self.schema, flavor=flavor, output=output, workdir=str(self.output_dir))
        data = model.SerializeToString()
        if verify:
            self._verify(obj, meta, data, output)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        path = self.output_dir / MODEL_FILE
        path.write_bytes(data)
        (self.output_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        return path

    def _verify(self, obj: Any, meta: dict, data: bytes, output: str) -> None:
        import numpy as np

        from . import onnx_export

        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return
        X = self.validation.X().head(64)
        if len(X) == 0:
            return
        got = onnx_export.run(data, self.schema, X, meta["output"])
        native = _native_predictions(obj, meta["flavor"], self.schema, X, output)
        if native is None:
            return
        if self.task == "regression":
            got = got.reshape(-1)
            native = np.asarray(native, dtype=np.float64).reshape(-1)
        elif self.task == "binary":
            got = got[:, -1]
            native = np.asarray(native, dtype=np.float64)
            native = native[:, -1] if native.ndim == 2 else native.reshape(-1)
        else:
            native = np.asarray(native, dtype=np.float64)
        scale = max(1.0, float(np.nanmax(np.abs(native))) if native.size else 1.0)
        per_row = np.abs(got - native).reshape(native.shape[0], -1).max(axis=1) if native.size else np.zeros(0)
        diff = float(np.nanmax(per_row)) if per_row.size else 0.0
        # ONNX runs in float32: a row whose value lies on a tree split can land in the neighbouring
        # leaf. A few such rows are float32 rounding; a broken export disagrees on most rows.
        off = int(np.count_nonzero(~(per_row <= 1e-3 * scale)))
        if off > max(2, int(0.05 * per_row.size)):
            raise ExportError(f"the exported ONNX model disagrees with the {meta['flavor']} model on {off} of {per_row.size} validation rows (max difference {diff:.3g})")

    def predict_test(self, fn: Callable[[Any], Any]) -> Path:
        """Fallback for a model that cannot be exported to ONNX: writes `fn(test features)` as the
        trainer's predictions for the test rows. mlcycle scores them and marks the evaluation
        "scored from trainer-written predictions". fn gets the DataFrame of Split.X() and returns one
        value per row: P(positive) for binary, a class-probability row for multiclass, the value for
        regression."""
        import numpy as np

        X = self.test.X()
        pred = np.asarray(fn(X), dtype=np.float64)
        if pred.shape[0] != len(X):
            raise ValueError(f"predict_test: got {pred.shape[0]} predictions for {len(X)} test rows")
        if self.task == "binary" and pred.ndim == 2:
            pred = pred[:, -1]
        if not np.all(np.isfinite(pred)):
            raise ValueError("predict_test: predictions must be finite numbers")
        self.output_dir.mkdir(parents=True, exist_ok=True)
        path = self.output_dir / PREDICTIONS_FILE
        path.write_text(json.dumps({"format": "mlcycle-predictions/v1", "task": self.task, "rows": len(X), "predictions": pred.tolist()}))
        return path


def _native_predictions(obj: Any, flavor: str, schema: Schema, X, output: str):
    if flavor == "torch":
        import torch

        was_training = obj.training
        obj.eval()
        with torch.no_grad():
            out = obj(torch.tensor(X.to_numpy(dtype="float32")))
            if output == "logits":
                out = torch.sigmoid(out) if schema.task == "binary" else torch.softmax(out, dim=1) if schema.task == "multiclass" else out
        obj.train(was_training)
        return out.detach().cpu().numpy().reshape(len(X), -1)
    if flavor == "onnx":
        return None
    if schema.task == "regression":
        return obj.predict(X if flavor == "sklearn" else X.to_numpy(dtype="float32"))
    return obj.predict_proba(X if flavor == "sklearn" else X.to_numpy(dtype="float32"))


def context(env: Optional[Dict[str, str]] = None) -> Context:
    """The trainer's context from the MLCYCLE_* environment mlcycle sets."""
    return Context(env)

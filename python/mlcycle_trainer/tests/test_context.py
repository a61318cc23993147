import json
import math

import numpy as np
import pytest

import mlcycle_trainer
from conftest import make_env


def protocol_lines(out):
    return [json.loads(l[len("MLCYCLE "):]) for l in out.splitlines() if l.startswith("MLCYCLE ")]


def test_context_needs_the_mlcycle_environment():
    with pytest.raises(RuntimeError, match="MLCYCLE_SCHEMA_FILE is not set"):
        mlcycle_trainer.context({})


def test_splits_are_typed_as_the_onnx_scorer_feeds_them(env):
    ctx = mlcycle_trainer.context(env)
    assert ctx.task == "binary" and ctx.target == "target"
    assert ctx.features == ["tenure_months", "monthly_charges", "plan", "autopay"]
    assert ctx.params == {"epochs": 3, "lr": 0.1} and ctx.param("missing", 7) == 7
    X = ctx.train.X()
    assert list(X.columns) == ctx.features
    assert X["tenure_months"].dtype == np.float64
    assert set(X["autopay"].unique()) <= {0.0, 1.0}
    assert set(X["plan"].unique()) <= {"basic", "pro", "enterprise"}
    y = ctx.train.y()
    assert y.dtype == np.int64 and set(np.unique(y)) == {0, 1}
    assert len(ctx.validation) == 100
    # mlcycle scores the test rows itself: the trainer never sees their labels.
    assert not ctx.test.has_target
    with pytest.raises(KeyError, match="carries no target"):
        ctx.test.y()
    assert ctx.train.to_arrow().num_rows == 400


def test_x_numpy_refuses_categorical_features(env):
    ctx = mlcycle_trainer.context(env)
    with pytest.raises(TypeError, match="plan is categorical"):
        ctx.train.X_numpy()


def test_report_speaks_the_line_protocol(env, capsys):
    ctx = mlcycle_trainer.context(env)
    ctx.report("loss", 0.5, epoch=2, total=10)
    ctx.report("auc", np.float32(0.75))
    assert protocol_lines(capsys.readouterr().out) == [
        {"type": "metric", "name": "loss", "value": 0.5, "epoch": 2, "total": 10},
        {"type": "metric", "name": "auc", "value": 0.75},
    ]
    with pytest.raises(ValueError, match="must be finite"):
        ctx.report("loss", math.nan)


def test_checkpoint_copies_outside_paths_and_resume(env, tmp_path, capsys):
    ctx = mlcycle_trainer.context(env)
    assert ctx.resume_from() is None and ctx.resume_epoch == 0
    state = tmp_path / "state.bin"
    state.write_bytes(b"weights")
    where = ctx.checkpoint(state, epoch=3)
    assert (where / "state.bin").read_bytes() == b"weights"
    inside = ctx.checkpoint_path(4)
    (inside / "w").write_text("x")
    ctx.checkpoint(inside, epoch=4)
    assert protocol_lines(capsys.readouterr().out) == [
        {"type": "checkpoint", "epoch": 3, "path": "epoch-3"},
        {"type": "checkpoint", "epoch": 4, "path": "epoch-4"},
    ]
    resumed = mlcycle_trainer.context({**env, "MLCYCLE_RESUME_FROM": str(where), "MLCYCLE_RESUME_EPOCH": "3"})
    assert resumed.resume_from() == where and resumed.resume_epoch == 3


def test_predict_test_writes_one_prediction_per_test_row(env):
    ctx = mlcycle_trainer.context(env)
    path = ctx.predict_test(lambda X: np.full(len(X), 0.25))
    doc = json.loads(path.read_text())
    assert doc["rows"] == 100 and doc["predictions"] == [0.25] * 100 and doc["task"] == "binary"
    with pytest.raises(ValueError, match="got 3 predictions for 100 test rows"):
        ctx.predict_test(lambda X: [0.1, 0.2, 0.3])


def test_regression_target_is_the_value(tmp_path):
    ctx = mlcycle_trainer.context(make_env(tmp_path, task="regression"))
    assert ctx.train.y().dtype == np.float64

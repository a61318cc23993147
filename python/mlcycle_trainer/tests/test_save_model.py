import json

import numpy as np
import onnx
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import mlcycle_trainer
from mlcycle_trainer import onnx_export
from conftest import make_env


def churn_pipeline(model):
    pre = ColumnTransformer([
        ("num", StandardScaler(), ["tenure_months", "monthly_charges", "autopay"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
    ])
    return Pipeline([("pre", pre), ("model", model)])


def inputs_of(path):
    m = onnx.load(path)
    return {i.name: i.type.tensor_type.elem_type for i in m.graph.input}, [o.name for o in m.graph.output], m.ir_version


def test_sklearn_pipeline_exports_one_input_per_column(env):
    ctx = mlcycle_trainer.context(env)
    model = churn_pipeline(LogisticRegression()).fit(ctx.train.X(), ctx.train.y())
    path = ctx.save_model(model)
    inputs, outputs, ir = inputs_of(path)
    assert inputs == {
        "tenure_months": onnx.TensorProto.FLOAT,
        "monthly_charges": onnx.TensorProto.FLOAT,
        "plan": onnx.TensorProto.STRING,
        "autopay": onnx.TensorProto.FLOAT,
    }
    assert "probabilities" in outputs and ir <= onnx_export.MAX_IR_VERSION
    meta = json.loads((ctx.output_dir / "mlcycle-model.json").read_text())
    assert meta == {"format": "mlcycle-onnx/v1", "task": "binary", "flavor": "sklearn", "output": "probabilities", "inputs": ctx.features}
    got = onnx_export.run(path.read_bytes(), ctx.schema, ctx.test.X(), "probabilities")[:, 1]
    np.testing.assert_allclose(got, model.predict_proba(ctx.test.X())[:, 1], atol=1e-5)


def test_lightgbm_gets_a_per_column_front(tmp_path):
    lightgbm = pytest.importorskip("lightgbm")
    ctx = mlcycle_trainer.context(make_env(tmp_path, numeric_only=True))
    model = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(ctx.train.X_numpy(), ctx.train.y())
    path = ctx.save_model(model)
    inputs, _, _ = inputs_of(path)
    assert list(inputs) == ctx.features
    got = onnx_export.run(path.read_bytes(), ctx.schema, ctx.test.X(), "probabilities")[:, 1]
    np.testing.assert_allclose(got, model.predict_proba(ctx.test.X_numpy())[:, 1], atol=1e-5)


def test_regression_exports_the_value(tmp_path):
    ctx = mlcycle_trainer.context(make_env(tmp_path, task="regression"))
    model = churn_pipeline(LinearRegression()).fit(ctx.train.X(), ctx.train.y())
    path = ctx.save_model(model)
    meta = json.loads((ctx.output_dir / "mlcycle-model.json").read_text())
    assert meta["task"] == "regression"
    got = onnx_export.run(path.read_bytes(), ctx.schema, ctx.test.X(), meta["output"]).reshape(-1)
    np.testing.assert_allclose(got, model.predict(ctx.test.X()), rtol=1e-4, atol=1e-3)


def test_matrix_models_need_numeric_features(env):
    lightgbm = pytest.importorskip("lightgbm")
    ctx = mlcycle_trainer.context(env)
    X = ctx.train.X().drop(columns=["plan"]).to_numpy(dtype="float32")
    model = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, ctx.train.y())
    with pytest.raises(mlcycle_trainer.ExportError, match="plan are categorical"):
        ctx.save_model(model)


def test_a_wrong_export_fails_verification(env, monkeypatch):
    ctx = mlcycle_trainer.context(env)
    model = churn_pipeline(LogisticRegression()).fit(ctx.train.X(), ctx.train.y())
    other = churn_pipeline(LogisticRegression(C=1e-4)).fit(ctx.train.X(), 1 - ctx.train.y())
    real = onnx_export.export
    monkeypatch.setattr(onnx_export, "export", lambda obj, *a, **k: real(other, *a, **k))
    with pytest.raises(mlcycle_trainer.ExportError, match="disagrees"):
        ctx.save_model(model)
    assert not (ctx.output_dir / "model.onnx").exists()

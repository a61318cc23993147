import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def _table(n, rng, with_target, task):
    tenure = rng.uniform(0, 72, n)
    charges = rng.uniform(20, 120, n)
    plan = rng.choice(["basic", "pro", "enterprise"], n)
    autopay = rng.random(n) < 0.5
    cols = {
        "tenure_months": pa.array(tenure, pa.float64()),
        "monthly_charges": pa.array(charges, pa.float64()),
        "plan": pa.array(plan.tolist(), pa.string()),
        "autopay": pa.array(autopay.tolist(), pa.bool_()),
    }
    if with_target:
        score = -0.05 * tenure + 0.03 * charges + (plan == "basic") * 1.0 - autopay * 0.5
        if task == "regression":
            cols["target"] = pa.array(score * 10 + rng.normal(0, 0.1, n), pa.float64())
        else:
            cols["target"] = pa.array((score + rng.normal(0, 0.5, n) > 0).tolist(), pa.bool_())
    return pa.table(cols)


def make_env(tmp_path, task="binary", numeric_only=False, n=400):
    rng = np.random.default_rng(1)
    features = [
        {"name": "tenure_months", "type": "number"},
        {"name": "monthly_charges", "type": "number"},
        {"name": "plan", "type": "category", "values": ["basic", "pro", "enterprise"]},
        {"name": "autopay", "type": "boolean"},
    ]
    if numeric_only:
        features = [f for f in features if f["type"] != "category"]
    schema = {
        "format": "mlcycle-trainer-data/v1",
        "task": task,
        "target": {"name": "target", "type": "number" if task == "regression" else "boolean"},
        "features": features,
    }
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    paths = {}
    for name, rows, with_target in (("train", n, True), ("validation", n // 4, True), ("test", n // 4, False)):
        t = _table(rows, rng, with_target, task)
        if numeric_only:
            t = t.drop(["plan"])
        p = tmp_path / f"{name}.parquet"
        pq.write_table(t, p)
        paths[name] = str(p)
    (tmp_path / "out").mkdir()
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "params.json").write_text(json.dumps({"epochs": 3, "lr": 0.1}))
    return {
        "MLCYCLE_SCHEMA_FILE": str(tmp_path / "schema.json"),
        "MLCYCLE_TRAIN_FILE": paths["train"],
        "MLCYCLE_VALIDATION_FILE": paths["validation"],
        "MLCYCLE_TEST_FILE": paths["test"],
        "MLCYCLE_PARAMS_FILE": str(tmp_path / "params.json"),
        "MLCYCLE_OUTPUT_DIR": str(tmp_path / "out"),
        "MLCYCLE_CHECKPOINT_DIR": str(tmp_path / "ckpt"),
    }


@pytest.fixture
def env(tmp_path):
    return make_env(tmp_path)

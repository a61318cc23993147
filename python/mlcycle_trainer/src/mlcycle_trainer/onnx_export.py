"""Exports a fitted model to the ONNX form mlcycle scores and serves.

The contract (checked by mlcycle against the spec before it scores anything):

* **inputs**: one per feature column, named like the column, shape ``[N, 1]``: ``float`` for
  number and boolean columns, ``string`` for category columns;
* **output**: ``probabilities`` ``[N, k]`` (columns in class-index order: binary ``[P(0), P(1)]``)
  for classification, ``variable`` ``[N, 1]`` for regression;
* beside ``model.onnx`` a small ``mlcycle-model.json`` names the task, flavor and output.

Models that take one feature matrix (LightGBM, XGBoost, PyTorch, a bare scikit-learn estimator)
get a front that concatenates the per-column inputs in schema order.
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

import numpy as np

from .data import Schema

# onnxruntime-node (mlcycle's scorer) reads models up to a given IR version; exporters built
# against a newer onnx write newer IR versions by default, so pin the opsets and clamp the IR.
OPSET = 17
ML_OPSET = 3
# onnxmltools (LightGBM, XGBoost) converts up to opset 15.
MLTOOLS_OPSET = 15
MAX_IR_VERSION = 8

FLAVORS = ("sklearn", "lightgbm", "xgboost", "torch", "onnx")


class ExportError(Exception):
    pass


def _detect_flavor(obj: Any) -> str:
    mod = type(obj).__module__
    if mod.startswith("lightgbm"):
        return "lightgbm"
    if mod.startswith("xgboost"):
        return "xgboost"
    if mod.startswith("torch"):
        return "torch"
    if mod.startswith("onnx"):
        return "onnx"
    if mod.startswith("sklearn") or hasattr(obj, "fit"):
        return "sklearn"
    raise ExportError(f"cannot tell the flavor of a {type(obj).__name__}; pass flavor= one of {', '.join(FLAVORS)}")


def _column_types(schema: Schema):
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    return [(f.name, StringTensorType([None, 1]) if f.type == "category" else FloatTensorType([None, 1])) for f in schema.features]


def _per_column_front(model, schema: Schema):
    """Replaces a single [N, n_features] float input by one [N, 1] input per feature column."""
    from onnx import TensorProto, helper

    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    real_inputs = [i for i in graph.input if i.name not in initializers]
    names = schema.feature_names
    if sorted(i.name for i in real_inputs) == sorted(names):
        return model  # already per column
    if len(real_inputs) != 1:
        raise ExportError(f"expected one matrix input or one input per feature, got inputs {[i.name for i in real_inputs]}")
    if not schema.numeric:
        bad = [f.name for f in schema.features if f.type == "category"]
        raise ExportError(f"a matrix-input model needs numeric features; {', '.join(bad)} are categorical (use a scikit-learn pipeline)")
    matrix = real_inputs[0]
    elem = matrix.type.tensor_type.elem_type
    graph.input.remove(matrix)
    concat_inputs = []
    new_inputs = []
    for name in names:
        new_inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, 1]))
        concat_inputs.append(name)
    nodes = []
    concat_out = matrix.name if elem == TensorProto.FLOAT else f"{matrix.name}__float"
    nodes.append(helper.make_node("Concat", concat_inputs, [concat_out], axis=1, name="mlcycle_columns"))
    if elem != TensorProto.FLOAT:
        nodes.append(helper.make_node("Cast", [concat_out], [matrix.name], to=elem, name="mlcycle_cast"))
    for node in reversed(nodes):
        graph.node.insert(0, node)
    for vi in reversed(new_inputs):
        graph.input.insert(0, vi)
    return model


def _finish(model):
    if model.ir_version > MAX_IR_VERSION:
        model.ir_version = MAX_IR_VERSION
    return model


def _classifier_output(model) -> str:
    outs = [o.name for o in model.graph.output]
    for name in outs:
        if "prob" in name.lower():
            return name
    raise ExportError(f"the exported classifier has no probabilities output (outputs: {outs})")


def _regression_output(model) -> str:
    outs = [o.name for o in model.graph.output]
    if len(outs) == 1:
        return outs[0]
    for name in outs:
        if name in ("variable", "value", "predictions"):
            return name
    raise ExportError(f"cannot tell the regression output among {outs}")


def _sklearn(obj: Any, schema: Schema, matrix: bool):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    classifier = hasattr(obj, "predict_proba") and schema.task != "regression"
    options = {id(obj): {"zipmap": False}} if classifier else None
    initial = [("input", FloatTensorType([None, len(schema.features)]))] if matrix else _column_types(schema)
    model = convert_sklearn(obj, initial_types=initial, options=options, target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET})
    return _per_column_front(model, schema) if matrix else model


def _uses_named_columns(obj: Any) -> bool:
    """True for pipelines that select DataFrame columns by name (a ColumnTransformer up front)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    first = obj.steps[0][1] if isinstance(obj, Pipeline) else obj
    return isinstance(first, ColumnTransformer)


def _lightgbm(obj: Any, schema: Schema):
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    extra = {"zipmap": False} if schema.task != "regression" else {}
    model = convert_lightgbm(obj, initial_types=[("input", FloatTensorType([None, len(schema.features)]))], target_opset=MLTOOLS_OPSET, **extra)
    return _per_column_front(model, schema)


def _xgboost(obj: Any, schema: Schema):
    from onnxmltools import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    model = convert_xgboost(obj, initial_types=[("input", FloatTensorType([None, len(schema.features)]))], target_opset=MLTOOLS_OPSET)
    return _per_column_front(model, schema)


def _torch(obj: Any, schema: Schema, output: str, workdir: str):
    import io

    import onnx
    import torch

    if not schema.numeric:
        raise ExportError("a PyTorch model gets numeric features only; encode categories in the module or drop them from the schema")
    if output not in ("logits", "probabilities", "value"):
        raise ExportError(f"output= must be logits, probabilities or value, got {output!r}")
    task = schema.task

    class PerColumn(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *columns):
            out = self.inner(torch.cat(columns, dim=1))
            if task == "regression":
                return out.reshape(-1, 1)
            if task == "binary":
                out = out.reshape(-1, 1)
                p = torch.sigmoid(out) if output == "logits" else out
                return torch.cat([1 - p, p], dim=1)
            return torch.softmax(out, dim=1) if output == "logits" else out

    wrapper = PerColumn(obj).eval().cpu()
    names = schema.feature_names
    example = tuple(torch.zeros(2, 1) for _ in names)
    out_name = "variable" if task == "regression" else "probabilities"
    buf = io.BytesIO()
    axes = {n: {0: "N"} for n in names}
    axes[out_name] = {0: "N"}
    with torch.no_grad():
        torch.onnx.export(wrapper, example, buf, input_names=names, output_names=[out_name], dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    return onnx.load_from_string(buf.getvalue())


def export(obj: Any, schema: Schema, flavor: Optional[str] = None, output: str = "logits", workdir: str = ".") -> Tuple[Any, dict]:
    """Returns (onnx ModelProto, metadata dict)."""
    flavor = flavor or _detect_flavor(obj)
    if flavor not in FLAVORS:
        raise ExportError(f"unknown flavor {flavor!r}; expected one of {', '.join(FLAVORS)}")
    if flavor == "sklearn":
        # A pipeline that picks DataFrame columns by name takes one input per column; anything else
        # was fitted on a matrix and gets the concatenating front.
        model = _sklearn(obj, schema, matrix=not _uses_named_columns(obj))
    elif flavor == "lightgbm":
        model = _lightgbm(obj, schema)
    elif flavor == "xgboost":
        model = _xgboost(obj, schema)
    elif flavor == "torch":
        model = _torch(obj, schema, output, workdir)
    else:
        import onnx

        model = obj if not isinstance(obj, (str, bytes)) else onnx.load(obj)
        model = _per_column_front(model, schema)
    model = _finish(model)
    out = _regression_output(model) if schema.task == "regression" else _classifier_output(model)
    meta = {"format": "mlcycle-onnx/v1", "task": schema.task, "flavor": flavor, "output": out, "inputs": schema.feature_names}
    if schema.task == "multiclass" and schema.classes:
        meta["classes"] = schema.classes
    return model, meta


def feeds(schema: Schema, X) -> dict:
    """The ONNX input feeds for a features DataFrame (as Split.X() returns), one [N,1] array per column."""
    out = {}
    for f in schema.features:
        col = X[f.name].to_numpy()
        if f.type == "category":
            out[f.name] = col.astype(object).reshape(-1, 1)
        else:
            out[f.name] = col.astype(np.float32).reshape(-1, 1)
    return out


def run(model_bytes: bytes, schema: Schema, X, output: str) -> np.ndarray:
    """Scores a features DataFrame with onnxruntime (Python): the same contract mlcycle's scorer uses."""
    import onnxruntime as ort

    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    return np.asarray(session.run([output], feeds(schema, X))[0])


def expected_inputs(schema: Schema) -> List[str]:
    return schema.feature_names

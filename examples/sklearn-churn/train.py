"""A scikit-learn pipeline (preprocessing + gradient boosting) trained by mlcycle, exported with skl2onnx."""
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import mlcycle_trainer

ctx = mlcycle_trainer.context()
numeric = [f.name for f in ctx.schema.features if f.type != "category"]
categorical = [f.name for f in ctx.schema.features if f.type == "category"]
model = Pipeline([
    ("pre", ColumnTransformer([
        ("num", StandardScaler(), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
    ])),
    ("gb", GradientBoostingClassifier(
        n_estimators=int(ctx.param("n_estimators", 100)),
        max_depth=int(ctx.param("max_depth", 3)),
        learning_rate=float(ctx.param("learning_rate", 0.1)),
        random_state=0,
    )),
])
y = ctx.train.y()
if ctx.param("sabotage", False):
    # Test hook: a model that learned nothing (shuffled labels).
    y = np.random.default_rng(0).permutation(y)
model.fit(ctx.train.X(), y)

val_auc = roc_auc_score(ctx.validation.y(), model.predict_proba(ctx.validation.X())[:, 1])
ctx.report("val_auc", val_auc)
# Test hook: a trainer that prints a flattering "auc". mlcycle gates on its own scoring of the test rows.
ctx.report("auc", 0.99 if ctx.param("lie", False) else val_auc)
ctx.save_model(model)
print(f"validation auc {val_auc:.4f}, model saved")

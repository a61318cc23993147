"""Regression: a scikit-learn pipeline (scaling, one-hot, gradient boosting) predicting a price."""
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import mean_squared_error
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import mlcycle_trainer

ctx = mlcycle_trainer.context()
assert ctx.task == "regression", ctx.task
numeric = [f.name for f in ctx.schema.features if f.type != "category"]
categorical = [f.name for f in ctx.schema.features if f.type == "category"]
model = Pipeline([
    ("pre", ColumnTransformer([("num", StandardScaler(), numeric), ("cat", OneHotEncoder(handle_unknown="ignore"), categorical)])),
    ("gb", GradientBoostingRegressor(n_estimators=int(ctx.param("n_estimators", 150)), max_depth=3, random_state=0)),
])
model.fit(ctx.train.X(), ctx.train.y())
ctx.report("val_rmse", mean_squared_error(ctx.validation.y(), model.predict(ctx.validation.X())) ** 0.5)
ctx.save_model(model)

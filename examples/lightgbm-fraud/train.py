"""LightGBM on numeric features, with early stopping on the validation split; exported with onnxmltools."""
import lightgbm as lgb
from sklearn.metrics import roc_auc_score

import mlcycle_trainer

ctx = mlcycle_trainer.context()
X, y = ctx.train.X_numpy(), ctx.train.y()
Xv, yv = ctx.validation.X_numpy(), ctx.validation.y()
rounds = int(ctx.param("n_estimators", 200))
model = lgb.LGBMClassifier(
    n_estimators=rounds,
    learning_rate=float(ctx.param("learning_rate", 0.05)),
    num_leaves=int(ctx.param("num_leaves", 15)),
    random_state=0,
    verbose=-1,
)


def report(env):
    # LightGBM's callback: one training-curve point per boosting round.
    for _, name, value, _ in env.evaluation_result_list:
        if name == "binary_logloss":
            ctx.report("loss", value, epoch=env.iteration + 1, total=rounds)


model.fit(X, y, eval_set=[(Xv, yv)], callbacks=[report, lgb.early_stopping(20, verbose=False)])
ctx.report("val_auc", roc_auc_score(yv, model.predict_proba(Xv)[:, 1]))
ctx.save_model(model)  # flavor lightgbm, detected

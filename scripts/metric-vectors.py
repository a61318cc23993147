#!/usr/bin/env python3
"""
Reference values for src/training/task-metrics.ts, computed with scikit-learn on the same
predictions.

    scripts/python-venv.sh sklearn scripts/requirements/sklearn-reference.txt   # prints the python path
    .venv/sklearn/bin/python scripts/metric-vectors.py   # writes test/training/vectors/metric-vectors.json

Each case stores y, the predictions (rounded to 6 decimals, so the JSON stays small and both sides
read identical doubles) and the metric values. Probabilities stay inside [1e-6, 1 - 1e-6] so the
log-loss clipping constant (sklearn: dtype eps, mlcycle: 1e-15) never matters. Cases include ties,
imbalance, a threshold other than 0.5, a class that is never predicted and one that is absent.
"""
import json
import os
import platform

import numpy as np
import sklearn
from sklearn import metrics as M

SEED = 20261204
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'training', 'vectors', 'metric-vectors.json')
rng = np.random.default_rng(SEED)


def r6(a):
    return [float(round(v, 6)) for v in np.asarray(a, dtype=float).ravel()]


def binary_case(name, n, rate, signal, threshold=0.5, ties=False):
    y = (rng.random(n) < rate).astype(int)
    z = signal * (2 * y - 1) + rng.normal(size=n)
    p = 1 / (1 + np.exp(-z))
    if ties:
        p = np.round(p, 1)
    p = np.clip(np.array(r6(p)), 1e-6, 1 - 1e-6)
    pred = (p >= threshold).astype(int)
    values = {
        'auc': M.roc_auc_score(y, p),
        'pr_auc': M.average_precision_score(y, p),
        'accuracy': M.accuracy_score(y, pred),
        'balanced_accuracy': M.balanced_accuracy_score(y, pred),
        'f1': M.f1_score(y, pred, zero_division=0),
        'precision': M.precision_score(y, pred, zero_division=0),
        'recall': M.recall_score(y, pred, zero_division=0),
        'logloss': M.log_loss(y, p, labels=[0, 1]),
        'brier': M.brier_score_loss(y, p),
    }
    return {'name': name, 'task': 'binary', 'threshold': threshold, 'y': [int(v) for v in y], 'pred': r6(p), 'values': {k: float(v) for k, v in values.items()}}


def multiclass_case(name, n, k, signal, never_predicted=None):
    y = rng.integers(0, k, size=n)
    z = rng.normal(size=(n, k)) + signal * np.eye(k)[y]
    if never_predicted is not None:
        z[:, never_predicted] -= 10
    P = np.exp(z - z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    P = np.clip(np.round(P, 6), 1e-6, 1)
    P /= P.sum(axis=1, keepdims=True)
    P = np.array(r6(P)).reshape(n, k)
    pred = P.argmax(axis=1)
    labels = list(range(k))
    values = {
        'accuracy': M.accuracy_score(y, pred),
        'balanced_accuracy': M.balanced_accuracy_score(y, pred),
        'macro_f1': M.f1_score(y, pred, average='macro', zero_division=0),
        'weighted_f1': M.f1_score(y, pred, average='weighted', zero_division=0),
        'logloss': M.log_loss(y, P, labels=labels),
        'auc_ovr': M.roc_auc_score(y, P, multi_class='ovr', average='macro', labels=labels),
    }
    return {'name': name, 'task': 'multiclass', 'numClasses': k, 'y': [int(v) for v in y], 'pred': r6(P), 'values': {k2: float(v) for k2, v in values.items()}}


def regression_case(name, n, scale, noise):
    y = np.array(r6(scale * (rng.normal(size=n) + 3)))
    p = np.array(r6(y + noise * rng.normal(size=n)))
    values = {
        'rmse': float(np.sqrt(M.mean_squared_error(y, p))),
        'mae': M.mean_absolute_error(y, p),
        'r2': M.r2_score(y, p),
        'mape': M.mean_absolute_percentage_error(y, p),
    }
    return {'name': name, 'task': 'regression', 'y': r6(y), 'pred': r6(p), 'values': {k: float(v) for k, v in values.items()}}


cases = [
    binary_case('balanced, strong signal', 400, 0.5, 1.5),
    binary_case('7% positives', 1500, 0.07, 1.0),
    binary_case('7% positives, threshold 0.18', 1500, 0.07, 1.0, threshold=0.18),
    binary_case('heavy ties (one decimal)', 600, 0.3, 0.8, ties=True),
    binary_case('weak signal', 300, 0.4, 0.1),
    multiclass_case('3 classes', 500, 3, 1.5),
    multiclass_case('5 classes, weak', 800, 5, 0.5),
    multiclass_case('4 classes, one never predicted', 600, 4, 1.0, never_predicted=2),
    regression_case('unit scale', 500, 1.0, 0.5),
    regression_case('large values', 700, 120.0, 30.0),
]

doc = {
    'generator': {'script': 'scripts/metric-vectors.py', 'python': platform.python_version(), 'numpy': np.__version__, 'sklearn': sklearn.__version__, 'seed': SEED},
    'cases': cases,
}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump(doc, f, separators=(',', ':'))
print(f'wrote {len(cases)} cases to {os.path.relpath(OUT)}')

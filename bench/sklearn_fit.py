"""One scikit-learn fit for bench/trainers-vs-sklearn.ts, in its own process (peak RSS is per process).

    python bench/sklearn_fit.py DIR TASK MODEL CONFIG   ->  one JSON line {cpu, wall, metric, rss_mb, iters}

DIR holds x.f64 (column-major n*d doubles), y.f64 and meta.json {n, d, test, classes}; the last
`test` rows are the held-out rows. CPU time is process time (all threads), measured around fit only.
"""
import json
import os
import resource
import sys
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score, root_mean_squared_error

d, task, model, config = sys.argv[1:5]
meta = json.load(open(os.path.join(d, 'meta.json')))
n, k, test = meta['n'], meta['d'], meta['test']
X = np.fromfile(os.path.join(d, 'x.f64'), dtype=np.float64).reshape(k, n).T  # a view: column-major as ours
y = np.fromfile(os.path.join(d, 'y.f64'), dtype=np.float64)
tr = n - test
Xtr, ytr, Xte, yte = X[:tr], y[:tr], X[tr:], y[tr:]
if task != 'regression':
    ytr = ytr.astype(np.int64)
    yte = yte.astype(np.int64)

if model == 'lr':
    est = LinearRegression() if task == 'regression' else LogisticRegression(solver='lbfgs', C=1.0, max_iter=100, tol=1e-4)
else:
    cls = HistGradientBoostingRegressor if task == 'regression' else HistGradientBoostingClassifier
    est = cls() if config == 'defaults' else cls(max_iter=100, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20, l2_regularization=0.0, max_bins=255, early_stopping=False)

c0, w0 = time.process_time(), time.perf_counter()
est.fit(Xtr, ytr)
cpu, wall = time.process_time() - c0, time.perf_counter() - w0
if task == 'binary':
    metric = roc_auc_score(yte, est.predict_proba(Xte)[:, 1])
elif task == 'multiclass':
    P = est.predict_proba(Xte)
    metric = roc_auc_score(yte, P, multi_class='ovr')
else:
    metric = root_mean_squared_error(yte, est.predict(Xte))
def peak_rss_mb():
    # getrusage's maxrss survives exec (a child of a large bench process starts at its parent's
    # peak); VmHWM is this address space's own. Same measure as bench/peak-rss.ts.
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


iters = getattr(est, 'n_iter_', None)
iters = int(np.max(iters)) if iters is not None else None
print(json.dumps({'cpu': cpu, 'wall': wall, 'metric': float(metric), 'rss_mb': peak_rss_mb(), 'iters': iters}))

#!/usr/bin/env python3
"""
Reference vectors for src/monitoring/drift*.ts and src/stats/, computed with numpy + scipy.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy scipy
    /tmp/venv/bin/python scripts/drift-vectors.py      # writes test/monitoring/vectors/drift-vectors.json

Two kinds of samples:
- "inline": drawn with numpy (seeded) and stored in the JSON (rounded to 4 decimals, so small).
- "synthetic": too large to store; both this script and the test regenerate them from a spec with
  the same xorshift32 generator and only IEEE-exact arithmetic (+, -, *, /, floor), so the values
  are bit-identical in Python and JavaScript. These exercise the bucket engine (>= 40,000 values).

PSI has no scipy counterpart; `psi_reference` below is the documented rule (numpy quantile edges,
equal edges merged, right-closed open-ended bins, empty-bin proportion 1e-6), written
independently of the TypeScript.
"""
import json
import math
import os
import platform
import sys

import numpy as np
import scipy
from scipy import special, stats
from scipy.spatial.distance import jensenshannon

SEED = 20240611
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'monitoring', 'vectors', 'drift-vectors.json')
PSI_EPSILON = 1e-6
SQRT3 = 1.7320508075688772
M32 = 0xFFFFFFFF

rng = np.random.default_rng(SEED)


# --- shared synthetic generator (mirrored in test/monitoring/drift.test.ts) -------------------

def xorshift32(seed):
    x = seed & M32
    if x == 0:
        x = 1
    while True:
        x ^= (x << 13) & M32
        x ^= x >> 17
        x ^= (x << 5) & M32
        yield x


def synthetic(spec):
    """spec: {kind: normal|int|pareto, n, seed, loc, scale, k}"""
    g = xorshift32(spec['seed'])
    u = lambda: next(g) / 4294967296.0
    n, kind = spec['n'], spec['kind']
    loc, scale = float(spec.get('loc', 0.0)), float(spec.get('scale', 1.0))
    out = []
    if kind == 'normal':  # Irwin-Hall(4), variance 1
        for _ in range(n):
            s = u() + u() + u() + u() - 2.0
            out.append(loc + scale * s * SQRT3)
    elif kind == 'int':  # integers loc .. loc+k-1: heavy ties
        k = spec['k']
        for _ in range(n):
            out.append(loc + math.floor(u() * k))
    elif kind == 'pareto':  # heavy right tail
        for _ in range(n):
            out.append(loc + scale / (u() + 1e-6))
    else:
        raise ValueError(kind)
    return np.array(out, dtype=np.float64)


# --- helpers ---------------------------------------------------------------------------------

def r4(a):
    return [float(round(float(v), 4)) for v in a]


def fnum(x):
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        raise ValueError(f'non-finite value in vectors: {x}')
    return x


def edges_reference(ref, bins):
    q = np.arange(1, bins) / bins
    e = np.quantile(np.asarray(ref, dtype=np.float64), q)  # method='linear' (numpy default)
    edges = []
    for v in e:
        if not edges or v > edges[-1]:
            edges.append(float(v))
    return edges


def bin_counts(x, edges):
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64), np.asarray(x, dtype=np.float64), side='left')
    return np.bincount(idx, minlength=len(edges) + 1)


def psi_reference(ref, cur, bins):
    edges = edges_reference(ref, bins)
    rc = bin_counts(ref, edges)
    cc = bin_counts(cur, edges)
    r = np.where(rc == 0, PSI_EPSILON, rc / len(ref))
    c = np.where(cc == 0, PSI_EPSILON, cc / len(cur))
    return float(np.sum((c - r) * np.log(c / r))), edges, rc, cc


def ks(a, b, method):
    res = stats.ks_2samp(a, b, method=method)
    return fnum(res.statistic), fnum(res.pvalue)


# --- KS ----------------------------------------------------------------------------------------

ks_inline = []


def add_ks(name, a, b, methods=('asymp', 'exact')):
    a, b = r4(a), r4(b)
    for m in methods:
        d, p = ks(np.array(a), np.array(b), m)
        ks_inline.append({'name': f'{name} [{m}]', 'a': a, 'b': b, 'method': m, 'statistic': d, 'pvalue': p})


add_ks('normal 8 vs 10', rng.normal(size=8), rng.normal(size=10))
add_ks('normal 30 vs 30', rng.normal(size=30), rng.normal(size=30))
add_ks('normal 30 vs 30 shifted 1', rng.normal(size=30), rng.normal(1.0, size=30))
add_ks('ties 50 vs 47 (one decimal)', np.round(rng.normal(size=50), 1), np.round(rng.normal(0.3, size=47), 1))
add_ks('integers 60 vs 80 (heavy ties)', rng.integers(0, 5, size=60), rng.integers(0, 6, size=80))
add_ks('normal 100 vs 120 shifted 0.3', rng.normal(size=100), rng.normal(0.3, size=120))
add_ks('normal 141 vs 150', rng.normal(size=141), rng.normal(size=150))
add_ks('normal 500 vs 400 scale 1.2', rng.normal(size=500), rng.normal(0, 1.2, size=400))
add_ks('normal 1000 vs 1200 shifted 0.3', rng.normal(size=1000), rng.normal(0.3, size=1200))
add_ks('uniform 1500 vs 1000', rng.uniform(size=1500), rng.uniform(size=1000))
add_ks('5 vs 400', rng.normal(size=5), rng.normal(size=400))
same = rng.normal(size=40)
add_ks('identical samples', same, same)
add_ks('disjoint samples', rng.uniform(0, 1, size=20), rng.uniform(2, 3, size=25))

ks_synthetic = []


def add_ks_syn(name, sa, sb, methods):
    a, b = synthetic(sa), synthetic(sb)
    for m in methods:
        d, p = ks(a, b, m)
        ks_synthetic.append({'name': f'{name} [{m}]', 'a': sa, 'b': sb, 'method': m, 'statistic': d, 'pvalue': p})


add_ks_syn('normal 60000 vs 50000, same', {'kind': 'normal', 'n': 60000, 'seed': 11}, {'kind': 'normal', 'n': 50000, 'seed': 12}, ['asymp'])
add_ks_syn('normal 200000 vs 150000, shift 0.02', {'kind': 'normal', 'n': 200000, 'seed': 13}, {'kind': 'normal', 'n': 150000, 'seed': 14, 'loc': 0.02}, ['asymp'])
add_ks_syn('normal 400000 vs 300000, same', {'kind': 'normal', 'n': 400000, 'seed': 15}, {'kind': 'normal', 'n': 300000, 'seed': 16}, ['asymp'])
add_ks_syn('int k=20 vs k=21, 50000 each (ties)', {'kind': 'int', 'n': 50000, 'seed': 17, 'k': 20}, {'kind': 'int', 'n': 50000, 'seed': 18, 'k': 21}, ['asymp'])
add_ks_syn('int k=7, 45000 vs 40000, same (ties)', {'kind': 'int', 'n': 45000, 'seed': 19, 'k': 7}, {'kind': 'int', 'n': 40000, 'seed': 20, 'k': 7}, ['asymp'])
add_ks_syn('pareto 80000 vs 70000 (heavy tail)', {'kind': 'pareto', 'n': 80000, 'seed': 21}, {'kind': 'pareto', 'n': 70000, 'seed': 22, 'scale': 1.01}, ['asymp'])
add_ks_syn('normal 20000 vs 20000, same', {'kind': 'normal', 'n': 20000, 'seed': 23}, {'kind': 'normal', 'n': 20000, 'seed': 24}, ['asymp'])
add_ks_syn('normal 3000 vs 2000, shift 0.05', {'kind': 'normal', 'n': 3000, 'seed': 25}, {'kind': 'normal', 'n': 2000, 'seed': 26, 'loc': 0.05}, ['exact', 'asymp'])
add_ks_syn('normal 8000 vs 8000, same', {'kind': 'normal', 'n': 8000, 'seed': 27}, {'kind': 'normal', 'n': 8000, 'seed': 28}, ['exact', 'asymp'])
add_ks_syn('normal 10000 vs 9999, shift 0.03', {'kind': 'normal', 'n': 10000, 'seed': 29}, {'kind': 'normal', 'n': 9999, 'seed': 30, 'loc': 0.03}, ['exact'])

# The Kolmogorov distribution itself, over all of scipy's algorithm regions.
kstwo = []
for n in [1, 2, 3, 5, 10, 37, 100, 140, 141, 500, 1000, 5000, 20000, 100000, 100001, 500000, 2000000]:
    ds = [0.4 / n, 0.8 / n, 1.5 / n, math.sqrt(0.3 / n), math.sqrt(0.7 / n), math.sqrt(1.5 / n), math.sqrt(3 / n),
          math.sqrt(5 / n), math.sqrt(10 / n), math.sqrt(50 / n), 0.3, 0.6, 1 - 0.5 / n, (1.3 / n) ** (2 / 3)]
    for d in sorted(set(ds)):
        if 0 < d < 1:
            kstwo.append({'n': n, 'd': d, 'sf': fnum(stats.kstwo.sf(d, n))})
smirnov = []
for n in [2, 5, 20, 140, 1000, 50000, 1000000]:
    for d in [1.5 / n, math.sqrt(0.5 / n), math.sqrt(2 / n), math.sqrt(8 / n), 0.3, 0.7]:
        if 0 < d < 1:
            smirnov.append({'n': n, 'd': d, 'sf': fnum(special.smirnov(n, d))})

# --- chi-squared ---------------------------------------------------------------------------------

chi2 = []


def add_chi2(name, ref, cur):
    cats = sorted(set(ref) | set(cur))
    table = np.array([[ref.get(c, 0) for c in cats], [cur.get(c, 0) for c in cats]], dtype=np.float64)
    res = stats.chi2_contingency(table, correction=False)
    chi2.append({'name': name, 'ref': ref, 'cur': cur, 'statistic': fnum(res.statistic), 'dof': int(res.dof), 'pvalue': fnum(res.pvalue)})


def counts(labels, probs, n):
    draws = rng.choice(len(labels), size=n, p=probs)
    c = np.bincount(draws, minlength=len(labels))
    return {labels[i]: int(c[i]) for i in range(len(labels)) if c[i] > 0}


add_chi2('2 categories, same', counts(['a', 'b'], [0.3, 0.7], 500), counts(['a', 'b'], [0.3, 0.7], 400))
add_chi2('3 categories, shifted', counts(['x', 'y', 'z'], [0.2, 0.3, 0.5], 1000), counts(['x', 'y', 'z'], [0.3, 0.3, 0.4], 800))
add_chi2('new category in current', {'red': 120, 'green': 80, 'blue': 50}, {'red': 100, 'green': 90, 'blue': 40, 'purple': 7})
add_chi2('category gone in current', {'a': 30, 'b': 25, 'c': 5}, {'a': 33, 'b': 20})
p10 = rng.dirichlet(np.ones(10))
add_chi2('10 categories, large n, same', counts([f'c{i}' for i in range(10)], p10, 100000), counts([f'c{i}' for i in range(10)], p10, 80000))
p30 = rng.dirichlet(np.ones(30))
q30 = 0.97 * p30 + 0.03 * rng.dirichlet(np.ones(30))
add_chi2('30 categories, slight shift', counts([f'k{i:02d}' for i in range(30)], p30, 20000), counts([f'k{i:02d}' for i in range(30)], q30 / q30.sum(), 20000))
add_chi2('tiny counts', {'a': 1, 'b': 2, 'c': 3}, {'a': 3, 'b': 2, 'c': 1})
add_chi2('extreme shift (p underflows toward 0)', {'a': 5000, 'b': 5000}, {'a': 9000, 'b': 1000})

chi2sf = []
for dof in [1, 2, 3, 5, 10, 30, 100, 1000, 10000]:
    for f in [0.01, 0.5, 0.9, 1.0, 1.1, 2.0, 5.0]:
        x = f * dof
        chi2sf.append({'x': x, 'dof': dof, 'sf': fnum(stats.chi2.sf(x, dof))})
for x, dof in [(1e-8, 1), (50.0, 1), (300.0, 4), (0.2, 40)]:
    chi2sf.append({'x': x, 'dof': dof, 'sf': fnum(stats.chi2.sf(x, dof))})

# --- Jensen-Shannon ------------------------------------------------------------------------------

js = []
for k, base in [(2, 2), (3, 2), (5, 2), (10, 2), (20, 2), (5, math.e), (8, 10)]:
    p = rng.uniform(size=k)
    q = rng.uniform(size=k)
    if k >= 5:
        p[1] = 0.0
        q[3] = 0.0
    p, q = r4(p), r4(q)
    js.append({'p': p, 'q': q, 'base': base, 'distance': fnum(jensenshannon(p, q, base=base))})
js.append({'p': [1, 0], 'q': [0, 1], 'base': 2, 'distance': fnum(jensenshannon([1, 0], [0, 1], base=2))})
js.append({'p': [3, 3, 4], 'q': [3, 3, 4], 'base': 2, 'distance': fnum(jensenshannon([3, 3, 4], [3, 3, 4], base=2))})
js.append({'p': [10, 20, 30], 'q': [0.1, 0.2, 0.3], 'base': 2, 'distance': fnum(jensenshannon([10, 20, 30], [0.1, 0.2, 0.3], base=2))})

# --- PSI (and JS over the same bins) -------------------------------------------------------------

psi_inline = []


def add_psi(name, ref, cur, bins):
    ref, cur = r4(ref), r4(cur)
    value, edges, rc, cc = psi_reference(ref, cur, bins)
    psi_inline.append({'name': name, 'ref': ref, 'cur': cur, 'bins': bins, 'psi': value, 'edges': edges,
                       'refCounts': [int(v) for v in rc], 'curCounts': [int(v) for v in cc],
                       'js': fnum(jensenshannon(rc, cc, base=2))})


add_psi('normal 200 vs 300, same', rng.normal(size=200), rng.normal(size=300), 10)
add_psi('normal 200 vs 300, shift 0.5', rng.normal(size=200), rng.normal(0.5, size=300), 10)
add_psi('normal 250 vs 250, scale 2, 5 bins', rng.normal(size=250), rng.normal(0, 2, size=250), 5)
add_psi('normal 400 vs 150, 20 bins', rng.normal(size=400), rng.normal(0.2, size=150), 20)
add_psi('integers 0..3 (merged edges)', rng.integers(0, 4, size=300), rng.integers(0, 4, size=200), 10)
add_psi('mostly zeros (zero-inflated)', np.where(rng.uniform(size=300) < 0.7, 0.0, rng.exponential(size=300)), np.where(rng.uniform(size=300) < 0.5, 0.0, rng.exponential(size=300)), 10)
add_psi('current outside the reference range (empty bins)', rng.uniform(0, 1, size=200), rng.uniform(5, 6, size=100), 10)
add_psi('constant reference', np.full(50, 3.0), rng.normal(3, 1, size=60), 10)

psi_synthetic = []


def add_psi_syn(name, sa, sb, bins):
    a, b = synthetic(sa), synthetic(sb)
    value, edges, rc, cc = psi_reference(a, b, bins)
    psi_synthetic.append({'name': name, 'ref': sa, 'cur': sb, 'bins': bins, 'psi': value, 'edges': edges,
                          'refCounts': [int(v) for v in rc], 'curCounts': [int(v) for v in cc],
                          'js': fnum(jensenshannon(rc, cc, base=2))})


add_psi_syn('normal 100000 vs 80000, shift 0.1', {'kind': 'normal', 'n': 100000, 'seed': 31}, {'kind': 'normal', 'n': 80000, 'seed': 32, 'loc': 0.1}, 10)
add_psi_syn('normal 60000 vs 60000, same, 20 bins', {'kind': 'normal', 'n': 60000, 'seed': 33}, {'kind': 'normal', 'n': 60000, 'seed': 34}, 20)
add_psi_syn('int k=5 vs k=6 (merged edges, ties)', {'kind': 'int', 'n': 50000, 'seed': 35, 'k': 5}, {'kind': 'int', 'n': 50000, 'seed': 36, 'k': 6}, 10)
add_psi_syn('pareto 70000 vs 50000 (heavy tail)', {'kind': 'pareto', 'n': 70000, 'seed': 37}, {'kind': 'pareto', 'n': 50000, 'seed': 38, 'scale': 1.05}, 10)
add_psi_syn('normal 50000 vs shifted by 10 (disjoint)', {'kind': 'normal', 'n': 50000, 'seed': 39}, {'kind': 'normal', 'n': 30000, 'seed': 40, 'loc': 10}, 10)

# --- label shift ---------------------------------------------------------------------------------

label = []
for p1, p2, n1, n2 in [(0.2, 0.2, 1000, 1000), (0.2, 0.23, 5000, 4000), (0.5, 0.45, 200, 300), (0.01, 0.03, 100000, 50000), (0.3, 0.1, 50, 60)]:
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p2 - p1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    label.append({'refRate': p1, 'curRate': p2, 'nRef': n1, 'nCur': n2, 'z': z, 'pvalue': fnum(2 * stats.norm.sf(abs(z)))})

doc = {
    'generator': {
        'script': 'scripts/drift-vectors.py',
        'python': platform.python_version(),
        'numpy': np.__version__,
        'scipy': scipy.__version__,
        'seed': SEED,
        'psiEpsilon': PSI_EPSILON,
        'synthetic': 'xorshift32 (x^=x<<13; x^=x>>>17; x^=x<<5; u=x/2^32); normal: loc+scale*(u+u+u+u-2)*1.7320508075688772; int: loc+floor(u*k); pareto: loc+scale/(u+1e-6)',
    },
    'ks': ks_inline,
    'ksSynthetic': ks_synthetic,
    'kstwo': kstwo,
    'smirnov': smirnov,
    'chi2': chi2,
    'chi2sf': chi2sf,
    'jensenshannon': js,
    'psi': psi_inline,
    'psiSynthetic': psi_synthetic,
    'labelShift': label,
}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump(doc, f, separators=(',', ':'))
    f.write('\n')
print(f'wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes): '
      f'{len(ks_inline)} ks, {len(ks_synthetic)} ks synthetic, {len(kstwo)} kstwo, {len(smirnov)} smirnov, {len(chi2)} chi2, '
      f'{len(chi2sf)} chi2.sf, {len(js)} js, {len(psi_inline)} psi, {len(psi_synthetic)} psi synthetic, {len(label)} label shift',
      file=sys.stderr)

"""Peer baseline: pandas read_csv + describe of the bench table; prints seconds and peak RSS as JSON."""
import json
import resource
import sys
import time

import pandas as pd

t = time.perf_counter()
df = pd.read_csv(sys.argv[1])
d = df.describe(include="all")
elapsed = time.perf_counter() - t
print(json.dumps({"seconds": elapsed, "rows": len(df), "maxRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "cols": d.shape[1]}))

"""Writes data/churn.csv: a seeded, generated customer table (python generate_data.py [ROWS])."""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
rng = np.random.default_rng(42)
tenure = rng.integers(0, 73, rows)
charges = rng.uniform(20, 120, rows).round(2)
tickets = rng.poisson(1.5, rows)
plan = rng.choice(["basic", "pro", "enterprise"], rows, p=[0.5, 0.35, 0.15])
region = rng.choice(["north", "south", "east", "west"], rows)
autopay = rng.random(rows) < 0.55
logit = -0.9 - 0.045 * tenure + 0.018 * charges + 0.45 * tickets + np.where(plan == "basic", 0.7, np.where(plan == "pro", 0.0, -0.6)) - 0.7 * autopay
churned = rng.random(rows) < 1 / (1 + np.exp(-logit))
out = Path(__file__).parent / "data" / "churn.csv"
out.parent.mkdir(exist_ok=True)
pd.DataFrame({
    "customer_id": [f"c{i:06d}" for i in range(rows)],
    "tenure_months": tenure, "monthly_charges": charges, "support_tickets": tickets,
    "plan": plan, "region": region, "autopay": autopay, "churned": churned,
}).to_csv(out, index=False)
print(f"wrote {rows} rows to {out}")

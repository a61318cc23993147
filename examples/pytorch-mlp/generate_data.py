"""Writes data/transactions.csv: seeded, generated card transactions (the LightGBM example's generator) (python generate_data.py [ROWS])."""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
rng = np.random.default_rng(7)
amount = rng.lognormal(3.5, 1.0, rows).round(2)
hour = rng.integers(0, 24, rows)
distance = rng.exponential(20, rows).round(1)
merchant_risk = rng.beta(2, 8, rows).round(3)
card_age = rng.integers(1, 3000, rows)
foreign = rng.random(rows) < 0.1
night = (hour < 6).astype(float)
logit = -3.2 + 0.004 * amount + 1.1 * night + 0.02 * distance + 4.0 * merchant_risk - 0.0004 * card_age + 1.3 * foreign
fraud = rng.random(rows) < 1 / (1 + np.exp(-logit))
out = Path(__file__).parent / "data" / "transactions.csv"
out.parent.mkdir(exist_ok=True)
pd.DataFrame({"amount": amount, "hour": hour, "distance_km": distance, "merchant_risk": merchant_risk,
              "card_age_days": card_age, "foreign": foreign, "is_fraud": fraud}).to_csv(out, index=False)
print(f"wrote {rows} rows to {out} ({fraud.mean():.1%} fraud)")

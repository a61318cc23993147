"""Writes data/houses.csv: seeded, generated house prices (python generate_data.py [ROWS])."""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 2500
rng = np.random.default_rng(3)
sqft = rng.uniform(500, 4000, rows).round(0)
bedrooms = rng.integers(1, 6, rows)
age = rng.uniform(0, 80, rows).round(1)
hood = rng.choice(["center", "suburb", "rural"], rows, p=[0.3, 0.5, 0.2])
garage = rng.random(rows) < 0.6
price = (60_000 + 150 * sqft + 8_000 * bedrooms - 900 * age
         + np.where(hood == "center", 90_000, np.where(hood == "suburb", 30_000, 0)) + 15_000 * garage
         + rng.normal(0, 25_000, rows)).round(0)
out = Path(__file__).parent / "data" / "houses.csv"
out.parent.mkdir(exist_ok=True)
pd.DataFrame({"sqft": sqft, "bedrooms": bedrooms, "age_years": age, "neighborhood": hood,
              "has_garage": garage, "price": price}).to_csv(out, index=False)
print(f"wrote {rows} rows to {out}")

"""Benchmark: one million CRM rows through the daily-list transform.

Baseline, measured in the same run on the same rows: a per-row loop that asks ``phonenumbers``
about every row (``normalise_phone_slow``, the per-value reference). Both must reach identical
decisions. Targets, for a phone column of text in every spelling a CRM export holds and for one
typed as numbers (an INTEGER column with NULLs, which pandas reads as float64), all on the first
call (an Airflow task runs in a fresh process) and with identical decisions:
- issues 4 and 11: at least 500,000 rows/s (wall);
- issue 17: at least 20 times as fast as the loop, by wall time and by CPU time (both must hold).

    .venv/bin/python bench/transform_bench.py [--rows 1000000] [--seed 7] [--columns text,float64,mixed]

Wall time and this process's CPU time are both reported: on a shared machine the CPU time is
the steadier figure.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from vbotflow.campaigns.config import load_config
from vbotflow.campaigns.phones import normalise_phone_slow, normalise_phones
from vbotflow.campaigns.transform import transform
from vbotflow_dev.demo_crm import MOBILE_PREFIXES, NEW_TO_OLD, UNUSABLE_PHONES, messy_phone

_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def unusual_phone(national: str, rng: random.Random) -> str:
    """A valid mobile written the rarer ways real exports hold it (and a few that are not one number)."""
    style = rng.randrange(14)
    spelled = [
        f"0{national[:2]}\u202f{national[2:5]}\u202f{national[5:]}",  # narrow no-break spaces
        f"0{national[:3]}\u200b{national[3:]}",  # a zero-width space
        f"\u202a+84 {national[:2]} {national[2:5]} {national[5:]}\u202c",  # bidi marks of a copied number
        f"0{national[:2]}\u2212{national[2:5]}\u2212{national[5:]}",  # minus signs
        ("0" + national).translate(_FULL_WIDTH),  # full-width digits
        f"{national[0]}.{national[1:]}E+08",  # scientific notation, every digit written
        f"{national}.0",  # a float's text
        f"(+84) 0{NEW_TO_OLD.get(national[:2], national[:2])}{national[2:]}",  # trunk zero, maybe an old number
        f"0{national} (Zalo)",  # a note around the number
        f"Anh {national[-2:]} 0{national}",
        f"0{national} / 0{national[::-1]}",  # two numbers
        f"+1 415 {national[:3]} {national[3:7]}",  # another country
        f"028 3{national[:3]} {national[3:7]}",  # a landline
        f"{national[0]}.{national[1:5]}E+08",  # a rounded scientific notation
    ]
    return spelled[style]


def crm_rows(n: int, seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    nationals = [rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}" for _ in range(n // 2)]
    phones, dnc = [], []
    for _ in range(n):
        roll = rng.random()
        national = rng.choice(nationals)
        if roll < 0.05:
            phones.append(rng.choice(UNUSABLE_PHONES))
        elif roll < 0.10:
            phones.append(unusual_phone(national, rng))
        else:
            phones.append(messy_phone(national, rng))
        dnc.append(int(rng.random() < 0.02))
    base = datetime(2026, 11, 1)
    return pd.DataFrame({
        "customer_id": range(1, n + 1),
        "full_name": [f"Khách hàng {i}" for i in range(n)],
        "phone": pd.Series(phones, dtype="string[pyarrow]"),
        "is_dnc": dnc,
        "updated_at": [base + timedelta(minutes=rng.randrange(40_000)) for _ in range(n)],
        "amount_due": [float(rng.randrange(50, 5000) * 1000) for _ in range(n)],
        "due_date": date(2026, 11, 28),
    })


def numeric_phones(n: int, seed: int) -> pd.Series:
    """The phone column of an INTEGER/BIGINT column with NULLs, as pandas reads it (float64)."""
    rng = np.random.default_rng(seed)
    prefixes = np.array([int(p) for p in MOBILE_PREFIXES], dtype=np.int64)
    nationals = rng.choice(prefixes, n) * 10**7 + rng.integers(0, 10**7, n)
    style = rng.random(n)
    values = np.where(style < 0.6, nationals, nationals + 84 * 10**9)  # the zero lost, or 84 in front
    values = np.where((style > 0.9) & (style < 0.93), 2838221234, values)  # a landline
    values = np.where((style >= 0.93) & (style < 0.95), 12345, values)  # too short
    column = pd.Series(values.astype("float64"))
    column[style >= 0.97] = np.nan
    return column


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def run_column(name: str, raw: pd.DataFrame, config, suppressed: list[str], rows: int, *, target: bool) -> bool:
    first = _clock()
    result = transform(raw, config, suppressed=suppressed)
    cold = _since(first)  # the first call of this column: in a fresh process, phonenumbers' checks too
    again = _clock()
    transform(raw, config, suppressed=suppressed)
    warm = _since(again)
    start = _clock()
    fast = normalise_phones(raw["phone"])
    phones = _since(start)
    start = _clock()
    slow = [normalise_phone_slow(value) for value in raw["phone"].tolist()]
    loop = _since(start)

    fast_decisions = zip(fast["phone"].fillna("").tolist(), fast["reject_reason"].astype(object).fillna("").tolist(),
                         strict=True)
    mismatches = sum(1 for a, (p, r) in zip(fast_decisions, slow, strict=True) if a != (p or "", r or ""))
    print(f"\n[{name}] phone column dtype {raw['phone'].dtype}; accepted {len(result.accepted):,}; "
          f"rejected {result.rejected_by_reason()}")
    for label, (wall, cpu) in [("transform (first call)", cold), ("transform (again)", warm),
                               ("phones only (fast)", phones), ("per-row phonenumbers", loop)]:
        print(f"  {label:24s} {wall:7.2f} s wall {rows / wall:12,.0f} rows/s | {cpu:7.2f} s CPU "
              f"{rows / cpu:12,.0f} rows/CPU-s")
    faster = {"wall": loop[0] / cold[0], "CPU": loop[1] / cold[1]}
    print("  speed-up of the transform's first call over the loop: "
          + ", ".join(f"{times:.1f}x by {measure} time" for measure, times in faster.items()))
    print(f"  phone decisions differing from the loop: {mismatches}")
    if not target:  # a column mixing types is converted value by value: decisions must agree, no rate target
        print(f"  identical decisions: {'yes' if mismatches == 0 else 'NO'} (no rate target for mixed columns)")
        return mismatches == 0
    rate = rows / cold[0] >= 500_000 and mismatches == 0
    print(f"  target (>= 500,000 rows/s on the first call, identical decisions): {'met' if rate else 'NOT met'}")
    verdicts = {measure: times >= 20 for measure, times in faster.items()}
    twenty = all(verdicts.values()) and mismatches == 0
    print("  target (>= 20x the per-row loop on the first call, by wall and by CPU time, identical decisions): "
          f"{'met' if twenty else 'NOT met'} ("
          + ", ".join(f"{measure} {'met' if ok else 'not met'}" for measure, ok in verdicts.items()) + ")")
    return rate and twenty


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--columns", default="text,float64", help="comma-separated: text, float64, mixed")
    args = parser.parse_args()

    config_dir = Path("var/bench")
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "bench.yaml").write_text(yaml.safe_dump({
        "name": "bench", "template_id": 1, "sql_file": "payment_reminder.sql",
        "columns": {"contact_id": "customer_id", "phone": "phone", "updated_at": "updated_at", "dnc": "is_dnc"},
        "fields": {"name": "full_name", "amount": "amount_due", "due_date": "due_date"},
        "required_fields": ["name", "amount"], "max_phones_per_campaign": 500}), encoding="utf-8")
    config = load_config(config_dir / "bench.yaml")

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"pandas {pd.__version__}; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    raw = crm_rows(args.rows, args.seed)
    suppressed = normalise_phones(raw["phone"].sample(frac=0.01, random_state=1))["phone"].dropna().tolist()
    results = []
    for column in args.columns.split(","):
        frame = raw
        if column == "float64":
            frame = raw.assign(phone=numeric_phones(args.rows, args.seed))
        elif column == "mixed":  # an untyped SQLite column: numbers and text side by side (object dtype)
            mixed = raw["phone"].astype(object)
            mixed[::3] = numeric_phones(args.rows, args.seed)[::3]
            frame = raw.assign(phone=mixed)
        results.append(run_column(column, frame, config, suppressed, args.rows, target=column != "mixed"))
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("all targets met" if all(results) else "some target NOT met")


if __name__ == "__main__":
    main()

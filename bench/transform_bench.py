"""Benchmark: one million CRM rows through the daily-list transform.

Baseline, measured in the same run on the same rows: a per-row loop that asks ``phonenumbers``
about every row (``normalise_phone_slow``). Both must reach identical accept/reject decisions.
Target (issue 4): at least 500,000 rows/s and at least 20× the loop.

    .venv/bin/python bench/transform_bench.py [--rows 1000000] [--seed 7]
"""

from __future__ import annotations

import argparse
import platform
import random
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import yaml

from vbotflow.campaigns.config import load_config
from vbotflow.campaigns.phones import normalise_phone_slow, normalise_phones
from vbotflow.campaigns.transform import transform
from vbotflow_dev.demo_crm import MOBILE_PREFIXES, UNUSABLE_PHONES, messy_phone


def crm_rows(n: int, seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    nationals = [rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}" for _ in range(n // 2)]
    phones, dnc = [], []
    for _ in range(n):
        roll = rng.random()
        phones.append(rng.choice(UNUSABLE_PHONES) if roll < 0.05 else messy_phone(rng.choice(nationals), rng))
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    config_dir = Path("var/bench")
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "bench.yaml").write_text(yaml.safe_dump({
        "name": "bench", "template_id": 1, "sql_file": "payment_reminder.sql",
        "columns": {"contact_id": "customer_id", "phone": "phone", "updated_at": "updated_at", "dnc": "is_dnc"},
        "fields": {"name": "full_name", "amount": "amount_due", "due_date": "due_date"},
        "required_fields": ["name", "amount"], "max_phones_per_campaign": 500}), encoding="utf-8")
    config = load_config(config_dir / "bench.yaml")

    raw = crm_rows(args.rows, args.seed)
    suppressed = raw["phone"].sample(frac=0.01, random_state=1).tolist()

    suppressed = normalise_phones(pd.Series(suppressed))["phone"].dropna().tolist()
    start = time.perf_counter()
    result = transform(raw, config, suppressed=suppressed)
    fast_seconds = time.perf_counter() - start  # cold, as in an Airflow task's fresh process
    start = time.perf_counter()
    transform(raw, config, suppressed=suppressed)
    warm_seconds = time.perf_counter() - start

    start = time.perf_counter()
    fast_phones = normalise_phones(raw["phone"])
    phones_seconds = time.perf_counter() - start

    start = time.perf_counter()
    slow = [normalise_phone_slow(value) for value in raw["phone"].tolist()]
    slow_seconds = time.perf_counter() - start

    fast_decisions = list(zip(fast_phones["phone"].fillna("").tolist(),
                              fast_phones["reject_reason"].fillna("").tolist(), strict=True))
    slow_decisions = [(p or "", r or "") for p, r in slow]
    mismatches = sum(1 for a, b in zip(fast_decisions, slow_decisions, strict=True) if a != b)

    rate = args.rows / fast_seconds
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}, "
          f"pandas {pd.__version__}")
    print(f"rows: {args.rows:,}; accepted {len(result.accepted):,}; rejected {result.rejected_by_reason()}")
    print(f"transform (whole):   {fast_seconds:7.2f} s  {rate:12,.0f} rows/s (first call in the process)")
    print(f"transform (again):   {warm_seconds:7.2f} s  {args.rows / warm_seconds:12,.0f} rows/s")
    print(f"phones only (fast):  {phones_seconds:7.2f} s  {args.rows / phones_seconds:12,.0f} rows/s")
    print(f"per-row phonenumbers:{slow_seconds:7.2f} s  {args.rows / slow_seconds:12,.0f} rows/s")
    print(f"speed-up of the whole transform over the loop: {slow_seconds / fast_seconds:.1f}x")
    print(f"phone decisions differing from the loop: {mismatches}")
    ok = rate >= 500_000 and slow_seconds / fast_seconds >= 20 and mismatches == 0
    print("target (>= 500,000 rows/s, >= 20x, identical decisions):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()

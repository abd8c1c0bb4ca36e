"""KPIs per day and campaign config: a table, a CSV and an HTML page with a chart."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vbotflow.store.money import hundredths
from vbotflow.store.tables import contact_outcome, kpi_daily, rejected_contact
from vbotflow.vbot.status import OUTCOME_CLASSES

COUNTED = ("not_reached", "bad_number", "routing", "account", "vbot_error", "unknown", "missing", "pending")


def refresh_kpis(engine: Engine, date_from: date, date_to: date, now: datetime | None = None) -> list[dict[str, Any]]:
    """Recompute ``kpi_daily`` for the range from ``contact_outcome`` and ``rejected_contact``."""
    now = now or datetime.now(UTC)
    co, rj = contact_outcome, rejected_contact
    counts = [sa.func.sum(sa.case((co.c.outcome == name, 1), else_=0)).label(name) for name in COUNTED]
    query = (
        sa.select(
            co.c.run_date, co.c.config_name, sa.func.count().label("contacts"),
            sa.func.sum(sa.case((co.c.attempts > 0, 1), else_=0)).label("called"),
            sa.func.sum(sa.case((co.c.is_answered, 1), else_=0)).label("answered"),
            sa.func.sum(sa.case((co.c.is_answered, co.c.talk_seconds), else_=0)).label("talk"),
            sa.func.sum(hundredths(co.c.total_cost)).label("cost_h"),
            *counts,
        )
        .where(co.c.run_date >= date_from, co.c.run_date <= date_to)
        .group_by(co.c.run_date, co.c.config_name)
    )
    with engine.begin() as conn:
        rejected = {(d, c): n for d, c, n in conn.execute(
            sa.select(rj.c.run_date, rj.c.config_name, sa.func.count())
            .where(rj.c.run_date >= date_from, rj.c.run_date <= date_to)
            .group_by(rj.c.run_date, rj.c.config_name))}
        rows = []
        for r in conn.execute(query).mappings():
            answered, called = int(r["answered"] or 0), int(r["called"] or 0)
            rows.append({
                "report_date": r["run_date"], "config_name": r["config_name"],
                "contacts": int(r["contacts"]), "called": called, "answered": answered,
                "answer_rate": (Decimal(answered) / Decimal(called)).quantize(Decimal("0.0001")) if called else None,
                "avg_talk_seconds": (Decimal(int(r["talk"] or 0)) / Decimal(answered)).quantize(Decimal("0.01"))
                if answered else None,
                "total_cost": Decimal(int(r["cost_h"] or 0)) / 100,
                **{name: int(r[name] or 0) for name in COUNTED},
                "rejected": int(rejected.get((r["run_date"], r["config_name"]), 0)),
                "updated_at": now,
            })
        conn.execute(kpi_daily.delete().where(kpi_daily.c.report_date >= date_from,
                                              kpi_daily.c.report_date <= date_to))
        if rows:
            conn.execute(kpi_daily.insert(), rows)
    return rows


def read_kpis(engine: Engine, date_from: date, date_to: date) -> pd.DataFrame:
    query = (sa.select(kpi_daily).where(kpi_daily.c.report_date >= date_from, kpi_daily.c.report_date <= date_to)
             .order_by(kpi_daily.c.report_date, kpi_daily.c.config_name))
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).mappings().all())
    if frame.empty:
        frame = pd.DataFrame(columns=[c.name for c in kpi_daily.columns])
    return frame.drop(columns=["updated_at"])


def write_report(frame: pd.DataFrame, out_dir: Path, title: str, extra: dict[str, Any] | None = None
                 ) -> dict[str, Path]:
    """``kpi.csv``, ``kpi_chart.png`` and ``report.html`` (the table and the chart) in ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out_dir / "kpi.csv", "chart": out_dir / "kpi_chart.png", "html": out_dir / "report.html"}
    frame.to_csv(paths["csv"], index=False)

    fig, ax = plt.subplots(figsize=(8, 4))
    if not frame.empty:
        labels = [f"{r.config_name}\n{r.report_date}" for r in frame.itertuples()]
        bottom = [0] * len(frame)
        for name in ("answered", *(c for c in OUTCOME_CLASSES if c != "answered"), "missing", "pending"):
            values = frame[name].astype(int).tolist() if name in frame else [0] * len(frame)
            if any(values):
                ax.bar(labels, values, bottom=bottom, label=name)
                bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.legend(fontsize=8)
    ax.set_ylabel("contacts")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(paths["chart"], dpi=100)
    plt.close(fig)

    template = _templates().get_template("report.html.j2")
    rows = [[None if pd.isna(v) else v for v in row] for row in frame.itertuples(index=False, name=None)]
    paths["html"].write_text(template.render(title=title, facts=extra or {}, columns=list(frame.columns),
                                             rows=rows, chart=paths["chart"].name), encoding="utf-8")
    return paths


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("vbotflow.reconcile", "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined)

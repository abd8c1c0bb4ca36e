"""The KPI report page: every value shown, and escaped (config names and facts come from configs and data)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd

from vbotflow.reconcile.kpi import write_report


def test_the_html_report_shows_every_row_escaped(tmp_path) -> None:
    frame = pd.DataFrame([
        {"report_date": date(2026, 11, 26), "config_name": "<b>nhac_no</b>", "contacts": 10, "answered": 4,
         "answer_rate": Decimal("0.4000"), "total_cost": Decimal("1234.50"), "missing": 0},
        {"report_date": date(2026, 11, 27), "config_name": "hen_lich", "contacts": 3, "answered": 0,
         "answer_rate": None, "total_cost": Decimal("0.00"), "missing": 3},
    ])
    paths = write_report(frame, tmp_path, "VBot outcomes <2026-11-26>", extra={"orphan_attempts": 2})

    html = paths["html"].read_text(encoding="utf-8")
    assert "<title>VBot outcomes &lt;2026-11-26&gt;</title>" in html
    assert "&lt;b&gt;nhac_no&lt;/b&gt;" in html and "<b>nhac_no" not in html
    assert "<li>orphan_attempts: 2</li>" in html
    assert html.count("<tr>") == 3  # the header and both rows
    assert "<td>1234.50</td>" in html and "<td></td>" in html  # a missing rate is an empty cell
    assert "<img src=\"kpi_chart.png\"" in html and paths["chart"].stat().st_size > 1000
    assert pd.read_csv(paths["csv"])["contacts"].tolist() == [10, 3]

"""How a day's chunks are spread over create tasks, and what the grid calls each task."""

from __future__ import annotations

import pytest

from vbotflow.campaigns.build import group_chunks, group_label, group_label_ends
from vbotflow.campaigns.config import CAMPAIGN_NAME_MAX_CHARS, TASK_LABEL_MAX_CHARS


def _chunks(n: int) -> list[dict]:
    return [{"chunk_number": i, "campaign_name": f"nhac_no_20261126_{i}", "run_key": f"nhac_no/2026-11-26/{i:03d}"}
            for i in range(1, n + 1)]


def _numbers(groups: list[list[dict]]) -> list[list[int]]:
    return [[c["chunk_number"] for c in g] for g in groups]


def test_a_day_with_no_more_chunks_than_tasks_gets_a_task_per_campaign() -> None:
    assert _numbers(group_chunks(_chunks(3), 16)) == [[1], [2], [3]]
    assert _numbers(group_chunks(_chunks(16), 16)) == [[n] for n in range(1, 17)]


def test_more_chunks_are_spread_in_consecutive_groups_as_even_as_can_be() -> None:
    assert _numbers(group_chunks(_chunks(10), 3)) == [[1, 2, 3, 4], [5, 6, 7], [8, 9, 10]]
    groups = group_chunks(_chunks(434), 16)
    assert [len(g) for g in groups] == [28] * 2 + [27] * 14
    assert [c["chunk_number"] for g in groups for c in g] == list(range(1, 435))


def test_an_empty_day_has_no_create_task() -> None:
    assert group_chunks([], 16) == []


def test_at_least_one_task() -> None:
    with pytest.raises(ValueError, match="max_groups must be 1 or more, got 0"):
        group_chunks(_chunks(2), 0)


def test_the_label_is_the_campaign_name_or_the_first_and_last_of_a_group() -> None:
    assert group_label(_chunks(1)) == "nhac_no_20261126_1"
    assert group_label(_chunks(28)) == "nhac_no_20261126_1 … nhac_no_20261126_28 (28 campaigns)"


def test_a_label_gives_back_the_ends_of_its_group() -> None:
    assert group_label_ends(group_label(_chunks(28))) == ("nhac_no_20261126_1", "nhac_no_20261126_28")
    assert group_label_ends(group_label(_chunks(1))) is None


def test_the_label_of_the_longest_names_fits_the_column_airflow_keeps_it_in() -> None:
    longest = [{"chunk_number": n, "campaign_name": "x" * CAMPAIGN_NAME_MAX_CHARS} for n in range(999_999)]
    assert len(group_label(longest)) == TASK_LABEL_MAX_CHARS
    assert len(group_label(longest[:1])) <= TASK_LABEL_MAX_CHARS

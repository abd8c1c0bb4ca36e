"""The batcher's hand-offs between threads: who leads, who waits, what each thread is answered."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.stack import wait_for
from vbotflow.receiver.batching import Batcher, LandAlone


def _wait_until(condition: Callable[[], bool]) -> None:
    wait_for(condition, 10, "the threads' hand-off", interval=0.005)


class Database:
    """Records what was sent, one statement at a time; the first statement waits until ``release``."""

    def __init__(self, together_fails: Exception | None = None, first_fails: Exception | None = None) -> None:
        self.statements: list[list[str]] = []
        self.gate = threading.Event()
        self.together_fails = together_fails
        self.first_fails = first_fails

    def alone(self, row: str) -> str:
        if not self.statements:
            self.statements.append([row])
            self.gate.wait(10)
            if self.first_fails is not None:
                raise self.first_fails
        else:
            self.statements.append([row])
        if row == "refused":
            raise ValueError("refused alone too")
        return f"{row}:alone"

    def together(self, rows: Sequence[str]) -> list[str]:
        self.statements.append(list(rows))
        if self.together_fails is not None:
            raise self.together_fails
        return [f"{row}:together" for row in rows]


def _run(batcher: Batcher, db: Database, rows: list[str]) -> list[object]:
    """The first row leads and blocks; the rest queue behind it; then the first statement ends."""
    with ThreadPoolExecutor(max_workers=len(rows)) as pool:
        def submit(row: str) -> object:
            try:
                return batcher.submit(row, db.together, db.alone)
            except Exception as err:  # noqa: BLE001 - the answer under test
                return err

        first = pool.submit(submit, rows[0])
        _wait_until(lambda: db.statements == [[rows[0]]])
        rest = []
        for n, row in enumerate(rows[1:], start=1):
            rest.append(pool.submit(submit, row))
            _wait_until(lambda n=n: batcher.waiting() == n)  # queued in this order
        db.gate.set()
        return [first.result(10), *(f.result(10) for f in rest)]


def test_one_thread_alone_lands_alone() -> None:
    db = Database()
    db.gate.set()
    assert Batcher().submit("a", db.together, db.alone) == "a:alone"
    assert db.statements == [["a"]]


def test_those_who_arrive_meanwhile_go_next_in_one_statement_in_arrival_order() -> None:
    batcher, db = Batcher(), Database()
    assert _run(batcher, db, ["a", "b", "c", "d"]) == ["a:alone", "b:together", "c:together", "d:together"]
    assert db.statements == [["a"], ["b", "c", "d"]]
    assert (batcher.largest, batcher.waiting()) == (3, 0)


def test_a_statement_takes_max_rows_and_the_rest_go_in_the_next() -> None:
    batcher, db = Batcher(max_rows=2), Database()
    assert _run(batcher, db, ["a", "b", "c", "d", "e"]) == ["a:alone", "b:together", "c:together",
                                                            "d:together", "e:together"]
    assert db.statements == [["a"], ["b", "c"], ["d", "e"]]


def test_land_alone_sends_each_row_alone_with_its_own_error() -> None:
    db = Database(together_fails=LandAlone())
    answers = _run(Batcher(), db, ["a", "b", "refused", "c"])
    assert answers[:2] == ["a:alone", "b:alone"] and answers[3] == "c:alone"
    assert isinstance(answers[2], ValueError) and str(answers[2]) == "refused alone too"
    assert db.statements[:2] == [["a"], ["b", "refused", "c"]]
    assert sorted(map(tuple, db.statements[2:])) == [("b",), ("c",), ("refused",)]


def test_any_other_error_reaches_every_thread_of_the_statement_and_nobody_lands_alone() -> None:
    outage = ConnectionError("the database went away")
    db = Database(together_fails=outage)
    answers = _run(Batcher(), db, ["a", "b", "c"])
    assert answers == ["a:alone", outage, outage]
    assert db.statements == [["a"], ["b", "c"]]


def test_an_outage_of_a_row_alone_reaches_the_threads_waiting_behind_it_and_none_of_them_sends_a_statement() -> None:
    outage = ConnectionError("statement timeout")
    db = Database(first_fails=outage)
    answers = _run(Batcher(outage=(ConnectionError,)), db, ["a", "b", "c"])
    assert answers == [outage, outage, outage]
    assert db.statements == [["a"]]


def test_an_outage_of_a_statement_of_several_reaches_the_threads_waiting_behind_it() -> None:
    outage = ConnectionError("statement timeout")
    db = Database(together_fails=outage)
    answers = _run(Batcher(max_rows=2, outage=(ConnectionError,)), db, ["a", "b", "c", "d", "e"])
    assert answers == ["a:alone", outage, outage, outage, outage]
    assert db.statements == [["a"], ["b", "c"]]  # "d" and "e" waited behind "b" and "c": no statement of theirs


def test_a_row_alone_refused_for_its_own_fault_leaves_the_threads_waiting_behind_it_to_land() -> None:
    refused = ValueError("value out of range")
    db = Database(first_fails=refused)
    answers = _run(Batcher(outage=(ConnectionError,)), db, ["a", "b", "c"])
    assert answers == [refused, "b:together", "c:together"]
    assert db.statements == [["a"], ["b", "c"]]


def test_after_a_statement_the_next_thread_to_come_leads_at_once() -> None:
    batcher, db = Batcher(), Database()
    _run(batcher, db, ["a", "b"])
    assert batcher.submit("z", db.together, db.alone) == "z:alone"
    assert db.statements[-1] == ["z"]


@pytest.mark.parametrize("rows", [2, 9, 40])
def test_many_threads_at_once_each_get_their_own_answer(rows: int) -> None:
    batcher = Batcher(max_rows=8)
    sent: list[list[int]] = []

    def together(batch: Sequence[int]) -> list[int]:
        sent.append(list(batch))
        time.sleep(0.001)
        return [n * 10 for n in batch]

    def alone(n: int) -> int:
        sent.append([n])
        time.sleep(0.001)
        return n * 10

    with ThreadPoolExecutor(max_workers=rows) as pool:
        answers = list(pool.map(lambda n: batcher.submit(n, together, alone), range(rows)))
    assert answers == [n * 10 for n in range(rows)]
    assert sorted(n for statement in sent for n in statement) == list(range(rows))  # each row sent once
    assert max(len(s) for s in sent) <= 8 and batcher.waiting() == 0

"""Personal data in files: the receiver's spool, previews (``var/previews``) and reports (``var/reports``).

A spooled delivery is data not yet in the database, so an erasure de-identifies it in place (under
the spool's drain lock); previews and reports are rewritten in place. Retention deletes preview
folders of run dates older than the retention period (previews are throwaway); it never touches
the spool, which holds deliveries reconciliation has not seen yet.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from vbotflow.campaigns.preview import PREVIEWS_DIR
from vbotflow.privacy.deidentify import PersonPolicy, deidentify_body, deidentify_create_body, deidentify_document
from vbotflow.privacy.pseudonyms import Pseudonymiser
from vbotflow.privacy.rows import DUPLICATE_DETAIL
from vbotflow.receiver.delivery import Delivery
from vbotflow.receiver.spool import Spool

SPOOL, PREVIEWS, REPORTS = "spool", "previews", "reports"
ContactIds = set[tuple[str, str]]  # (campaign config, CRM contact id)


@dataclass
class FileResult:
    """Files changed (in a dry run: that would change) per area, and files that could not be checked."""

    changed: dict[str, list[str]] = field(default_factory=lambda: {SPOOL: [], PREVIEWS: [], REPORTS: []})
    unreadable: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {area: len(paths) for area, paths in self.changed.items()}


def _files(root: Path) -> Iterator[Path]:
    if root.is_dir():
        yield from sorted(p for p in root.rglob("*") if p.is_file())


def _csv_text(rows: list[dict[str, Any]], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class _FileEraser:
    def __init__(self, policy: PersonPolicy, ps: Pseudonymiser, contact_ids: ContactIds) -> None:
        self.policy, self.ps, self.contact_ids = policy, ps, contact_ids

    def _theirs(self, config: str | None, crm_id: str | None) -> bool:
        return bool(crm_id) and any(c == crm_id and (config is None or k == config) for k, c in self.contact_ids)

    def _csv(self, text: str, config: str | None) -> str:
        reader = csv.DictReader(io.StringIO(text))
        columns = list(reader.fieldnames or [])
        rows = []
        for row in reader:
            phones = [row.get(c) or "" for c in ("phone", "raw_phone")]
            if self._theirs(config, row.get("crm_contact_id")) or any(self.policy.owns(p) for p in phones if p):
                for column in ("phone", "raw_phone"):
                    if row.get(column):
                        value = row[column]
                        row[column] = self.policy.number(value) if self.policy.owns(value) else ""
                if row.get("crm_contact_id"):
                    row["crm_contact_id"] = self.ps.contact_id(row["crm_contact_id"])
            detail = row.get("detail") or ""
            if detail.startswith(DUPLICATE_DETAIL) and self._theirs(config, detail[len(DUPLICATE_DETAIL):]):
                row["detail"] = DUPLICATE_DETAIL + self.ps.contact_id(detail[len(DUPLICATE_DETAIL):])
            rows.append({k: self.policy.free_text(v) if isinstance(v, str) else v for k, v in row.items()})
        return _csv_text(rows, columns)

    def _json(self, text: str) -> str:
        document = json.loads(text)
        if isinstance(document, dict) and "phones" in document:
            new = deidentify_create_body(document, self.policy)
        else:
            new = deidentify_document(document, self.policy)
        return text if new == document else json.dumps(new, indent=2, ensure_ascii=False)

    def new_content(self, path: Path, config: str | None) -> str | None:
        """The file's de-identified text, None when nothing in it is the person's; raises on binary files."""
        data = path.read_bytes()
        text = data.decode("utf-8")  # UnicodeDecodeError: a binary file
        if path.suffix == ".csv":
            new = self._csv(text, config)
        elif path.suffix == ".json":
            try:
                new = self._json(text)
            except json.JSONDecodeError:
                new = self.policy.free_text(text)
        else:
            new = self.policy.free_text(text)
        return None if new == text or (path.suffix == ".csv" and new == _reformatted(text)) else new


def _reformatted(text: str) -> str:
    """A CSV as the csv module writes it: what a rewrite without changes would give."""
    reader = csv.DictReader(io.StringIO(text))
    return _csv_text(list(reader), list(reader.fieldnames or []))


def _rewrite_files(root: Path, eraser: _FileEraser, config_of: Callable[[Path], str | None], *, dry_run: bool,
                   result: FileResult, area: str) -> None:
    for path in _files(root):
        try:
            new = eraser.new_content(path, config_of(path))
        except UnicodeDecodeError:
            # Charts and other binary files: only a person can look inside, so say when one names the person.
            if eraser.policy.mentioned_in(path.read_bytes()):
                result.unreadable.append(str(path))
            continue
        if new is None:
            continue
        if not dry_run:
            tmp = path.with_name(f".{path.name}.erasing")
            tmp.write_text(new, encoding="utf-8")
            tmp.replace(path)
        result.changed[area].append(str(path))


def erase_from_files(policy: PersonPolicy, ps: Pseudonymiser, contact_ids: ContactIds, *, spool_dir: Path,
                     var_dir: Path, dry_run: bool) -> FileResult:
    """De-identify one person in the spool, the previews and the reports."""
    result = FileResult()
    spool = Spool(spool_dir)

    def edit(delivery: Delivery) -> Delivery | None:
        body = deidentify_body(delivery.body, policy)
        return None if body is None else replace(delivery, body=body)

    if dry_run:
        for path in spool.files():
            try:
                delivery = Delivery.from_json(path.read_text("ascii"))
            except (ValueError, KeyError, UnicodeDecodeError):
                result.unreadable.append(str(path))
                continue
            if edit(delivery) is not None:
                result.changed[SPOOL].append(str(path))
    else:
        result.changed[SPOOL] = [str(p) for p in spool.rewrite(edit)]
    # Deliveries the drain could not read were renamed *.corrupt and kept for a person.
    result.unreadable += [str(p) for p in sorted(Path(spool_dir).glob("*.corrupt"))] if Path(spool_dir).is_dir() else []

    eraser = _FileEraser(policy, ps, contact_ids)
    previews = var_dir / PREVIEWS_DIR
    _rewrite_files(previews, eraser, lambda p: p.relative_to(previews).parts[0], dry_run=dry_run,
                   result=result, area=PREVIEWS)
    _rewrite_files(var_dir / "reports", eraser, lambda _: None, dry_run=dry_run, result=result, area=REPORTS)
    return result


def old_preview_dirs(var_dir: Path, before: date) -> list[Path]:
    """Preview folders ``previews/<config>/<run date>`` of run dates before ``before``."""
    root = var_dir / PREVIEWS_DIR
    found = []
    for folder in sorted(root.glob("*/*")) if root.is_dir() else []:
        try:
            day = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if folder.is_dir() and day < before:
            found.append(folder)
    return found


def delete_old_previews(var_dir: Path, before: date, *, dry_run: bool) -> list[str]:
    """Delete preview folders of run dates before ``before``; returns their paths."""
    folders = old_preview_dirs(var_dir, before)
    if not dry_run:
        for folder in folders:
            shutil.rmtree(folder)
    return [str(f) for f in folders]

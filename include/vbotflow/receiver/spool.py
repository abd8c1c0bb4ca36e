"""The local spool: deliveries acknowledged while the database was away, one fsync'ed file each.

One file per delivery, written under a temporary name, fsync'ed and renamed into place (then the
directory fsync'ed), so a reader never sees half a delivery and several gunicorn workers append
without sharing a file. Draining takes an exclusive ``flock`` on ``.drain.lock``: one drainer at a
time across processes; a file is deleted only after its delivery is committed to the database, and
replaying one twice is harmless (dedupe keys).
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vbotflow.receiver.delivery import Delivery

log = logging.getLogger(__name__)

SUFFIX = ".json"
LOCK_NAME = ".drain.lock"


@dataclass
class DrainResult:
    """What one drain did: ``landed`` replayed, ``left`` still spooled (``failed``: kept after an error of
    their own), ``busy``: another drainer held the lock."""

    landed: int = 0
    left: int = 0
    failed: int = 0
    corrupt: int = 0
    busy: bool = False
    error: str | None = None


class Spool:
    """A directory of spooled deliveries."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def _ensure_dir(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    def _fsync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def append(self, delivery: Delivery) -> Path:
        """Write ``delivery`` durably; when this returns, it survives a crash or power loss."""
        self._ensure_dir()
        # Time first, so a drain replays deliveries in the order they arrived.
        name = f"{delivery.received_at:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex}"
        tmp = self.directory / f".{name}.tmp"
        final = self.directory / f"{name}{SUFFIX}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, delivery.to_json().encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, final)
        self._fsync_dir()
        return final

    def files(self) -> list[Path]:
        """Spooled deliveries, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if p.name.endswith(SUFFIX) and not p.name.startswith("."))

    def depth(self) -> int:
        """How many deliveries wait in the spool."""
        return len(self.files())

    def has_files(self) -> bool:
        """Cheaper than ``depth`` (stops at the first): called after every stored delivery."""
        if not self.directory.is_dir():
            return False
        with os.scandir(self.directory) as entries:
            return any(e.name.endswith(SUFFIX) and not e.name.startswith(".") for e in entries)

    @contextmanager
    def _drain_lock(self) -> Iterator[bool]:
        self._ensure_dir()
        fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def rewrite(self, edit: Callable[[Delivery], Delivery | None], *, wait_seconds: float = 30.0) -> list[Path]:
        """Replace the spooled deliveries ``edit`` changes (it returns None to keep one); returns their paths.

        Holds the drain lock (waiting up to ``wait_seconds`` for a drain to finish), so a delivery is
        never replayed while it is rewritten; each file is replaced atomically under its own name.
        """
        deadline = time.monotonic() + wait_seconds
        while True:
            with self._drain_lock() as acquired:
                if acquired:
                    changed = []
                    for path in self.files():
                        try:
                            delivery = Delivery.from_json(path.read_text("ascii"))
                        except (ValueError, KeyError, UnicodeDecodeError):
                            continue  # the next drain sets it aside as .corrupt
                        replacement = edit(delivery)
                        if replacement is not None:
                            tmp = path.with_name(f".{path.name}.tmp")
                            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                            try:
                                os.write(fd, replacement.to_json().encode("ascii"))
                                os.fsync(fd)
                            finally:
                                os.close(fd)
                            os.replace(tmp, path)
                            changed.append(path)
                    if changed:
                        self._fsync_dir()
                    return changed
            if time.monotonic() > deadline:
                raise TimeoutError(f"the spool {self.directory} was being drained for {wait_seconds:.0f} s; try again")
            time.sleep(0.1)

    def drain(self, land: Callable[[Delivery], object],
              outage_errors: tuple[type[BaseException], ...] = (Exception,)) -> DrainResult:
        """Replay every spooled delivery through ``land``.

        An error in ``outage_errors`` (the database is still away) stops the drain; any other error
        keeps that one file for a person (``failed``) and the drain goes on with the next.
        """
        result = DrainResult()
        with self._drain_lock() as acquired:
            if not acquired:
                result.busy = True
                result.left = self.depth()
                return result
            files = self.files()
            for index, path in enumerate(files):
                try:
                    delivery = Delivery.from_json(path.read_text("ascii"))
                except (ValueError, KeyError, UnicodeDecodeError) as err:
                    # Should not happen (files appear only complete); kept aside for a person, never deleted.
                    log.error("spool file %s is unreadable (%s); renamed to .corrupt", path.name, err)
                    path.rename(path.with_name(path.name + ".corrupt"))
                    result.corrupt += 1
                    continue
                try:
                    land(delivery)
                except outage_errors as err:
                    result.error = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
                    result.left = len(files) - index
                    break
                except Exception as err:  # noqa: BLE001 - this one delivery fails: keep it, go on
                    log.error("spooled delivery %s cannot be landed (%s); kept", path.name, type(err).__name__)
                    result.failed += 1
                    result.left += 1
                    continue
                path.unlink()
                result.landed += 1
            if result.landed:
                self._fsync_dir()
        return result

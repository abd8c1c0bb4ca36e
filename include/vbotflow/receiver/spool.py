"""The local spool: deliveries acknowledged while the database was away, one fsync'ed file each.

One file per delivery, written under a temporary name, fsync'ed and renamed into place (then the
directory fsync'ed), so a reader never sees half a delivery and several gunicorn workers append
without sharing a file. An append that cannot write every byte (a full disk, a short write) raises
and leaves nothing behind: the caller answers 503, never 202 for a record that is not whole.
Draining takes an exclusive ``flock`` on ``.drain.lock``: one drainer at a time across processes; a
file is deleted only after its delivery is committed to the database, and replaying one twice is
harmless (dedupe keys). Temporary files that a killed process left behind are removed when a
receiver starts and before each drain.
"""

from __future__ import annotations

import errno
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
TMP_SUFFIX = ".tmp"
LOCK_NAME = ".drain.lock"
# A temporary file this old whose writer no longer holds its lock was left by a dead process.
# (An append takes milliseconds; the age only guards the instant between creating and locking it.)
STALE_TMP_SECONDS = 60.0


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
        """Write ``delivery`` durably; when this returns, the whole record survives a crash or power loss.

        Raises ``OSError`` when it cannot (ENOSPC, EIO, a short write that makes no progress); then
        nothing of the delivery is left in the spool.
        """
        self._ensure_dir()
        # Time first, so a drain replays deliveries in the order they arrived.
        name = f"{delivery.received_at:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex}"
        tmp = self.directory / f".{name}{TMP_SUFFIX}"
        final = self.directory / f"{name}{SUFFIX}"
        record = delivery.to_json().encode("ascii")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        renamed = False
        try:
            # Held until closed: tells remove_stale_temporaries that a live writer owns this file.
            fcntl.flock(fd, fcntl.LOCK_EX)
            _write_all(fd, record)
            os.fsync(fd)
            os.rename(tmp, final)
            renamed = True
            self._fsync_dir()
        except BaseException:
            # Not whole or not durable: the caller answers 503, so no trace of it may stay behind.
            _unlink_quietly(final if renamed else tmp)
            raise
        finally:
            os.close(fd)
        return final

    def remove_stale_temporaries(self, older_than: float = STALE_TMP_SECONDS) -> int:
        """Delete temporary files of appends that never finished (their process died); returns how many."""
        if not self.directory.is_dir():
            return 0
        removed = 0
        cutoff = time.time() - older_than
        for path in self.directory.iterdir():
            if not (path.name.startswith(".") and path.name.endswith(TMP_SUFFIX)):
                continue
            try:
                if path.stat().st_mtime > cutoff:
                    continue
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue  # renamed into place or removed meanwhile
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live writer still holds it
                _unlink_quietly(path)
                removed += 1
            finally:
                os.close(fd)
        if removed:
            log.warning("removed %s unfinished temporary spool file(s) left by a stopped process", removed)
        return removed

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
            self.remove_stale_temporaries()
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
                    # This file and every one after it stay, besides those that already failed on their own.
                    result.left += len(files) - index
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


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written: one call may write fewer (a nearly full disk)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, "the spool file took no more bytes")
        view = view[written:]


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as err:
        log.error("could not remove the spool file %s (%s)", path.name, err)

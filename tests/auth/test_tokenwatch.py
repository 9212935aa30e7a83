"""The token-file watcher on its own: when it looks, what counts as a change, what it keeps."""

from __future__ import annotations

import logging
import os
import pickle
import time
from pathlib import Path

import pytest

from xrsched.auth.tokenwatch import CHECK_INTERVAL, TokenFileWatcher
from xrsched.client.remote import read_checked_token

_reads: list[Path] = []


def counted_read(path: Path) -> str:
    """The client's real reader, remembering each call (module level, so a watcher pickles)."""
    _reads.append(path)
    return read_checked_token(path)


@pytest.fixture(autouse=True)
def _no_reads_yet():
    _reads.clear()


def put(path: Path, text: str) -> None:
    """Replace ``path`` the way a deployment tool does: a new file renamed over it."""
    staged = path.with_name(path.name + ".new")
    staged.write_text(text)
    staged.chmod(0o600)
    staged.rename(path)


@pytest.fixture
def token_file(tmp_path) -> Path:
    path = tmp_path / "token"
    put(path, "old-secret\n")
    return path


def test_it_looks_at_most_once_a_second_unless_forced(token_file):
    watcher = TokenFileWatcher(token_file, "old-secret", counted_read)
    assert CHECK_INTERVAL == 1.0 and watcher.interval == 1.0
    put(token_file, "new-secret\n")
    assert watcher.refresh() is False  # just made: the file was looked at a moment ago
    assert (watcher.secret, _reads) == ("old-secret", [])
    assert watcher.refresh(force=True) is True
    assert (watcher.secret, _reads) == ("new-secret", [token_file])


def test_after_the_interval_the_request_path_looks_again(token_file):
    watcher = TokenFileWatcher(token_file, "old-secret", counted_read)
    watcher.interval = 0.2
    put(token_file, "new-secret\n")
    time.sleep(0.25)
    assert watcher.refresh() is True
    assert watcher.secret == "new-secret"
    put(token_file, "newer-secret-is-longer\n")
    assert watcher.refresh() is False  # looked 0 s ago
    time.sleep(0.25)
    assert watcher.refresh() is True
    assert watcher.secret == "newer-secret-is-longer"


def test_a_look_restarts_the_interval_even_when_nothing_changed(token_file):
    watcher = TokenFileWatcher(token_file, "old-secret", counted_read)
    watcher.interval = 0.5
    time.sleep(0.55)
    assert watcher.refresh() is False  # looks, sees no change
    put(token_file, "new-secret\n")
    assert watcher.refresh() is False  # the look above was just now
    assert _reads == []


def test_an_unchanged_file_is_not_read_again(token_file):
    watcher = TokenFileWatcher(token_file, "old-secret", counted_read)
    assert watcher.refresh(force=True) is False
    assert _reads == []


def test_the_same_secret_written_again_is_read_once_and_is_no_change(token_file, caplog):
    watcher = TokenFileWatcher(token_file, "old-secret", counted_read)
    put(token_file, "old-secret\n\n")
    with caplog.at_level(logging.INFO, logger="xrsched.client"):
        assert watcher.refresh(force=True) is False
        assert watcher.refresh(force=True) is False  # the new file is now the one seen
    assert _reads == [token_file]
    assert caplog.records == []


def test_a_change_is_logged_with_the_file_name_never_the_secret(token_file, caplog):
    watcher = TokenFileWatcher(token_file, "old-secret", counted_read)
    put(token_file, "new-secret\n")
    with caplog.at_level(logging.INFO, logger="xrsched.client"):
        assert watcher.refresh(force=True) is True
    assert [r.getMessage() for r in caplog.records] == [
        f"token file {token_file} changed: using the new token from now on"
    ]
    assert [r.levelno for r in caplog.records] == [logging.INFO]


def test_a_missing_file_keeps_the_secret_and_is_not_read(token_file, caplog):
    watcher = TokenFileWatcher(token_file, "old-secret", counted_read)
    token_file.unlink()
    with caplog.at_level(logging.INFO, logger="xrsched.client"):
        assert watcher.refresh(force=True) is False
    assert (watcher.secret, _reads, caplog.records) == ("old-secret", [], [])
    put(token_file, "new-secret\n")
    assert watcher.refresh(force=True) is True
    assert watcher.secret == "new-secret"


def test_a_watcher_made_while_the_file_is_missing_takes_it_when_it_appears(tmp_path):
    path = tmp_path / "token"
    watcher = TokenFileWatcher(path, "old-secret", counted_read)
    assert watcher.refresh(force=True) is False
    put(path, "new-secret\n")
    assert watcher.refresh(force=True) is True


def test_an_unusable_file_warns_once_keeps_the_secret_and_is_tried_again(token_file, caplog):
    watcher = TokenFileWatcher(token_file, "old-secret", counted_read)
    with caplog.at_level(logging.WARNING, logger="xrsched.client"):
        put(token_file, "\n")
        assert watcher.refresh(force=True) is False
        put(token_file, "  \n\n")
        assert watcher.refresh(force=True) is False  # another bad file: no second warning
        assert watcher.refresh(force=True) is False  # the same bad file is read again
    assert watcher.secret == "old-secret"
    assert len(_reads) == 3
    assert [r.getMessage() for r in caplog.records] == [
        f"token file changed but cannot be used, keeping the current token: token file {token_file}: no token in it"
    ]
    assert caplog.records[0].levelno == logging.WARNING


def test_after_a_usable_file_the_next_unusable_one_warns_again(token_file, caplog):
    watcher = TokenFileWatcher(token_file, "old-secret", counted_read)
    with caplog.at_level(logging.WARNING, logger="xrsched.client"):
        put(token_file, "\n")
        watcher.refresh(force=True)
        put(token_file, "old-secret\n")  # the same secret back: still a usable file
        assert watcher.refresh(force=True) is False
        put(token_file, "\n\n")
        watcher.refresh(force=True)
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


def test_an_in_place_rewrite_of_the_same_size_is_seen_by_its_time(token_file):
    watcher = TokenFileWatcher(token_file, "old-secret", counted_read)
    before = os.stat(token_file)
    token_file.write_text("new-secret\n")  # same inode, same size
    os.utime(token_file, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    assert watcher.refresh(force=True) is True


def test_a_renamed_in_file_with_the_same_size_and_time_is_seen_by_its_inode(token_file):
    watcher = TokenFileWatcher(token_file, "old-secret", counted_read)
    before = os.stat(token_file)
    staged = token_file.with_name("staged")
    staged.write_text("new-secret\n")
    staged.chmod(0o600)
    os.utime(staged, ns=(before.st_atime_ns, before.st_mtime_ns))
    keep = token_file.with_name("kept")  # keep the old inode alive so it cannot be reused
    os.link(token_file, keep)
    staged.rename(token_file)
    assert os.stat(token_file).st_ino != before.st_ino
    assert watcher.refresh(force=True) is True


def test_a_size_change_alone_is_seen(token_file):
    watcher = TokenFileWatcher(token_file, "old-secret", counted_read)
    before = os.stat(token_file)
    token_file.write_text("a-longer-new-secret\n")
    os.utime(token_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert watcher.refresh(force=True) is True


def test_a_pickled_watcher_keeps_file_secret_and_reader(token_file):
    watcher = TokenFileWatcher(token_file, "old-secret", counted_read)
    watcher.interval = 3600.0
    copy = pickle.loads(pickle.dumps(watcher))
    assert (copy.path, copy.secret, copy.interval) == (token_file, "old-secret", CHECK_INTERVAL)
    assert copy.refresh(force=True) is False  # the file it sees now counts as seen
    put(token_file, "new-secret\n")
    assert copy.refresh() is False  # just made: within the interval
    assert copy.refresh(force=True) is True
    assert (copy.secret, _reads) == ("new-secret", [token_file])

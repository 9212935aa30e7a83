"""``xrsched run`` takes its token as every xrsched client does: --token, else the token file
(--token-file / XRSCHED_TOKEN_FILE), else XRSCHED_TOKEN; a named file that cannot be read is an
error, never skipped."""

from __future__ import annotations

from pathlib import Path

TASK = ["--module", "tests.worker.tasks", "Sleeper", "--seconds", "0.1"]


def _file(path: Path, secret: str, mode: int = 0o600) -> Path:
    path.write_text(secret + "\n")
    path.chmod(mode)
    return path


def test_the_token_file_beats_the_environment(server, run_worker, tmp_path):
    env = server.worker_env("w1")
    env["XRSCHED_TOKEN"] = "wrong-token"
    good = _file(tmp_path / "token", server.secrets["w1"])
    worker = run_worker([*TASK, "--root", str(tmp_path / "a"), "--token-file", str(good)], env)
    assert worker.wait(60) == 0, worker.text


def test_the_token_flag_beats_the_file_and_the_environment(server, run_worker, tmp_path):
    env = server.worker_env("w1")
    env["XRSCHED_TOKEN"] = "wrong-token"
    env["XRSCHED_TOKEN_FILE"] = str(_file(tmp_path / "token", "also-wrong"))
    worker = run_worker([*TASK, "--root", str(tmp_path / "a"), "--token", server.secrets["w1"]], env)
    assert worker.wait(60) == 0, worker.text


def test_a_missing_token_file_is_one_line_and_exit_2_despite_a_good_environment_token(server, run_worker, tmp_path):
    missing = tmp_path / "nope"
    worker = run_worker([*TASK, "--root", str(tmp_path / "a"), "--token-file", str(missing)], server.worker_env("w1"))
    assert worker.wait(60) == 2, worker.text
    assert worker.output == [f"xrsched run: token file {missing}: No such file or directory"]


def test_a_token_file_others_can_read_is_a_log_warning(server, run_worker, tmp_path):
    loose = _file(tmp_path / "token", server.secrets["w1"], 0o644)
    worker = run_worker([*TASK, "--root", str(tmp_path / "a"), "--token-file", str(loose)], server.worker_env("w1"))
    assert worker.wait(60) == 0, worker.text
    expected = f"WARNING xrsched.client: token file {loose} is accessible by group or others; chmod 600 it"
    mentions = [line for line in worker.output if "chmod 600" in line]
    assert len(mentions) == 1 and mentions[0].endswith(expected), worker.text
    assert "UserWarning" not in worker.text and "remote.py" not in worker.text

"""`fmw status`, `query` and `rollback` on a lake no refresh has written yet: said, not raised."""

from __future__ import annotations

from flows.cli import main


def test_an_empty_lake_says_nothing_is_published_yet(lake, tmp_path, capsys):
    data = str(tmp_path / "data")
    assert main(["status", "--data-dir", data, *lake.args()]) == 0
    out = capsys.readouterr().out
    assert f"nothing is published yet in {lake.url} (published catalog)" in out
    assert "recent runs:\n  none yet" in out
    assert main(["query", "select 1", *lake.args()]) == 1
    assert "nothing is published yet" in capsys.readouterr().err
    assert main(["rollback", "--data-dir", data, *lake.args()]) == 1
    assert "no publication older than" in capsys.readouterr().err

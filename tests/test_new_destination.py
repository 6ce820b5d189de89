"""DEST for `aiapp new`: --force never writes outside it, and odd destinations are one-line errors."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from generator.cli import app as cli


def new(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["new", "--preset", "chat-litellm", *args])
    assert "Traceback" not in result.output and "unexpected error" not in result.output
    return result


def test_force_does_not_follow_a_symlinked_directory_out_of_dest(tmp_path: Path) -> None:
    outside, dest = tmp_path / "outside", tmp_path / "app"
    outside.mkdir()
    dest.mkdir()
    (dest / "notes.txt").write_text("mine\n", encoding="utf-8")
    (dest / "local").symlink_to(outside, target_is_directory=True)
    result = new(str(dest), "--force")
    assert result.exit_code == 2
    assert "local is a symbolic link" in result.stderr
    assert list(outside.iterdir()) == []
    assert sorted(path.name for path in dest.iterdir()) == ["local", "notes.txt"]


def test_dest_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    result = new(str(tmp_path / "link"), "--force")
    assert result.exit_code == 2 and "is a symbolic link" in result.stderr
    assert list(real.iterdir()) == []


def test_an_over_long_dest_is_one_line(tmp_path: Path) -> None:
    result = new(str(tmp_path / ("x" * 300)))
    assert result.exit_code == 2
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "cannot be used" in result.stderr


def test_force_replaces_a_symlinked_file_not_its_target(tmp_path: Path) -> None:
    dest, victim = tmp_path / "app", tmp_path / "victim.yaml"
    dest.mkdir()
    victim.write_text("untouched\n", encoding="utf-8")
    (dest / "service.yaml").symlink_to(victim)
    assert new(str(dest), "--force").exit_code == 0
    assert victim.read_text(encoding="utf-8") == "untouched\n"
    assert not (dest / "service.yaml").is_symlink()


def test_force_refuses_a_directory_where_a_file_goes_before_writing(tmp_path: Path) -> None:
    """Found by adversarial testing: "unexpected error" with the app half-written."""
    dest = tmp_path / "app"
    (dest / "deployment.yaml").mkdir(parents=True)
    (dest / "deployment.yaml" / "mine.txt").write_text("mine\n", encoding="utf-8")
    result = new(str(dest), "--force", "--defaults")
    assert result.exit_code == 2
    assert "deployment.yaml is a directory" in result.stderr and "nothing was written" in result.stderr
    assert sorted(path.relative_to(dest).as_posix() for path in dest.rglob("*")) == [
        "deployment.yaml",
        "deployment.yaml/mine.txt",
    ]
    assert [path.name for path in tmp_path.iterdir()] == ["app"]  # no staging directory left


def test_force_refuses_a_file_where_a_directory_goes(tmp_path: Path) -> None:
    dest = tmp_path / "app"
    dest.mkdir()
    (dest / "local").write_text("a file\n", encoding="utf-8")
    result = new(str(dest), "--force", "--defaults")
    assert result.exit_code == 2 and "local is a file" in result.stderr
    assert sorted(path.name for path in dest.iterdir()) == ["local"]

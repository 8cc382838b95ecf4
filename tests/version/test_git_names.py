"""hydro_ci.git with file names git stores as bytes that are not UTF-8."""

from __future__ import annotations

import os
from pathlib import Path

from hydro_ci import git

from .gitrepo import sh


def test_changed_files_with_a_latin1_name(tmp_path: Path) -> None:
    """A file called b'\\xe9t\\xe9' (Latin-1) made changed_files, and so hydro-ci matrix, crash."""
    sh(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "a.txt").write_text("a")
    sh(tmp_path, "add", "-A")
    sh(tmp_path, "commit", "-qm", "one")
    name = os.fsdecode(b"m/\xe9t\xe9.txt")
    (tmp_path / "m").mkdir()
    Path(tmp_path / name).write_text("x")
    changed = git.changed_files(tmp_path, "HEAD")
    assert changed == [name]
    assert os.fsencode(changed[0]) == b"m/\xe9t\xe9.txt"


def test_a_tag_that_is_not_utf8_is_ignored_not_fatal(tmp_path: Path) -> None:
    """Any tag in the clone is listed by version next; a Latin-1 one crashed it for every model."""
    import subprocess

    from hydro_ci.version.sources import versions_from_tags

    sh(tmp_path, "init", "-q", "-b", "main")
    sh(tmp_path, "commit", "-q", "--allow-empty", "-m", "one")
    subprocess.run([b"git", b"tag", b"caf\xe9"], cwd=tmp_path, check=True)
    sh(tmp_path, "tag", "titanic-v1.0.0")
    tags = git.local_tags(tmp_path)
    assert os.fsdecode(b"caf\xe9") in tags
    listing = versions_from_tags(tags, "{name}-v{version}", "titanic", "git")
    assert [str(r.version) for r in listing.releases] == ["1.0.0"] and listing.ignored == 1

"""No version is ever used twice: reserve it by pushing its git tag before anything is built.

Guarantee (git or both): a git server updates a ref atomically and, without ``--force``, refuses to
create a tag that exists. Each pipeline pushes an *annotated* tag whose message carries a random
run id, so two pipelines on the same commit still make different tag objects and the second push
is rejected instead of being a silent no-op. After the push the remote tag is read back and must be
our object. Each round starts by fetching the remote's tags, so the loser decides again against
the winner's release and gets the next version (the bump is re-derived from the new previous one).

Limits: the guarantee holds among pipelines that reserve through the same git remote and never
force-push or delete tags. The registry has no create-only PUT, so registry-only versioning
cannot reserve: a pushing pipeline checks the version tag is free, puts it, and reads it back
(``hydro_ci.image.remote.push_image``), which detects a race after the fact but cannot prevent it.
A reservation whose build then fails stays used (a git tag without an image): it is never reused,
and the next run says so from the tag's message (``version.record.explain_git_only``).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from pathlib import Path

from hydro_ci import git
from hydro_ci.errors import HydroCIError, UsageError
from hydro_ci.version.decision import VersionDecision
from hydro_ci.version.record import reservation_message
from hydro_ci.version.sources import IncompleteCloneError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 32


class ReservationError(HydroCIError):
    """A version could not be reserved."""


def reserve(decide: Callable[[], VersionDecision], repo: Path, *, remote: str = "origin",
            run_id: str | None = None, attempts: int = MAX_ATTEMPTS) -> VersionDecision:
    """Decide, push the decision's git tag, and repeat with fresh tags until our push wins."""
    run_id = run_id or uuid.uuid4().hex
    if not git.has_remote(repo, remote):
        raise UsageError(f"--reserve needs the git remote {remote!r} to push the version tag to",
                         hint=f"add it (git remote add {remote} URL) or drop --reserve")
    lost: list[str] = []
    for _ in range(attempts):
        # Reserving talks to the remote anyway: start from its tags, so tags pushed since checkout
        # (by pipelines racing us) are counted instead of making the clone look incomplete.
        git.fetch_tags(repo, remote)
        try:
            decision = decide()
        except IncompleteCloneError as exc:
            if git.is_shallow(repo):
                raise
            log.info("a tag arrived between fetch and decision (%s); again", exc)
            continue
        tag = decision.git_tag
        if tag is None:
            raise UsageError("--reserve needs --source git or both (the registry has no atomic create)",
                             hint="version from git tags, or push with hydro-ci's check-then-put only")
        message = reservation_message(decision.model, decision.full_version, run_id)
        ours = git.create_tag(repo, tag, message)
        try:
            won = git.push_tag(repo, tag, remote)
            there = git.remote_tags(repo, remote).get(tag) if won else None
        except HydroCIError:
            git.delete_local_tag(repo, tag)
            raise
        if won and there == ours:
            notes = (f"lost the race for {', '.join(lost)}; reserved {decision.version}",) if lost else ()
            return dataclasses.replace(decision, reserved=True, notes=decision.notes + notes)
        log.info("version %s was taken by another pipeline; deciding again", decision.version)
        lost.append(str(decision.version))
        git.delete_local_tag(repo, tag)
    raise ReservationError(f"could not reserve a version in {attempts} attempts (lost {', '.join(lost[:3])}"
                           f"{'…' if len(lost) > 3 else ''}): other pipelines keep taking them",
                           hint="retry the job; check nothing pushes tags in a loop")

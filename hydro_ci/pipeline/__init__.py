"""``hydro-ci pipeline``: a model folder to a versioned image, as visible stages.

``STAGES`` (in ``stages``) is the whole flow: check → contract → version → render → plan → build →
push → attest → summary. Each stage writes its result into the output folder (``state``), so any stage can
be re-run alone from the files the earlier ones wrote.
"""

from __future__ import annotations

from hydro_ci.build import Progress, no_progress
from hydro_ci.pipeline.stages import STAGE_NAMES, STAGES, run
from hydro_ci.pipeline.state import PipelineOptions, PipelineState


def run_pipeline(options: PipelineOptions, progress: Progress = no_progress,
                 state: PipelineState | None = None) -> PipelineState:
    """Run the stages ``options`` selects and return what they found (also in the output folder).

    Pass ``state`` to keep what was done when a stage fails (its summary is written all the same).
    """
    return run(state or PipelineState(options=options, progress=progress))


__all__ = ["STAGES", "STAGE_NAMES", "PipelineOptions", "PipelineState", "run_pipeline"]

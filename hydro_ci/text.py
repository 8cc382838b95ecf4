"""What a one-line value and an environment variable name may hold: one rule for the check of
``hydro-ci: env:`` (``contract.rules.settings``) and for rendering the image (``render.dockerfile``)."""

from __future__ import annotations

import re

# C0/C1 controls and Unicode line/paragraph separators: nothing a label or an env value needs,
# and several tools (Python's splitlines among them) read some of them as line breaks.
CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # letters, digits and _, not starting with a digit

"""Security tests: one module per attack class (docs/security.md names the test behind each guarantee).

The registry tests' aids (fault proxy, token server, small images) are shared from tests/registry.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))

"""AWS CDK (Python) infrastructure of distsync.

The layout mirrors docs/architecture.md: a narrow platform (``platform/``: the bus, the shared tables, the
layer, the API and the factories), one slice per business domain on it (``domains/``), and the stack
(``stacks/``) that composes them. ``REPO_ROOT`` is derived from this package's location so that synth works
from any working directory and no machine-specific path ends up in the repository.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

"""AWS CDK (Python) infrastructure of distsync.

The layout mirrors docs/infrastructure-contract.md: one stack (``stacks/``) composed of small reusable
constructs (``constructs/``). ``REPO_ROOT`` is derived from this package's location so that synth works
from any working directory and no machine-specific path ends up in the repository.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

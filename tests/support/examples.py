"""Where the repository and its bundled example live, for tests that read them."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IRIS = REPO / "examples" / "iris" / "artifact"

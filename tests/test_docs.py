"""The README shows what ships: its workflow block is the repository's workflow file."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_workflow_is_the_shipped_one():
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```yaml\n", readme.index(".github/workflows/parity.yml")) + len("```yaml\n")
    block = readme[start : readme.index("```\n", start)]
    assert block == (ROOT / ".github/workflows/parity.yml").read_text()
    assert "parity gate --baseline cases/baseline.json reports" in block

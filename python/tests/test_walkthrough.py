"""docs/python.md's walk-through, run as written: its Python blocks in order,
as one script in a scratch directory. The script asserts what the page
claims (the chip agrees with PyTorch, errors lose accuracy, 2T2R keeps more
of it than 1T1R) and draws the plot."""

import os
import re
import subprocess
import sys

import hafnia
from conftest import SOURCE


def test_walkthrough_runs_as_written(tmp_path):
    page = (SOURCE / "docs" / "python.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    assert len(blocks) >= 3
    script = tmp_path / "walkthrough.py"
    script.write_text("\n".join(blocks))
    # The package this test imports, wherever the script runs.
    package = os.path.dirname(os.path.dirname(os.path.abspath(
        hafnia.__file__)))
    env = dict(os.environ, HAFNIA_SOURCE_DIR=str(SOURCE), PYTHONPATH=package)
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path,
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "accuracy: PyTorch" in result.stdout
    plot = tmp_path / "accuracy-vs-ber.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

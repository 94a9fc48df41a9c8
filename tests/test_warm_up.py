"""The server's start does what the first page view would otherwise pay for once per process."""

import subprocess
import sys

from tests.helpers import ROOT

CHECK = """
import sys
from emergency.ui.state import warm_up
assert "streamlit.emojis" not in sys.modules
warm_up()
print("streamlit.emojis" in sys.modules)
"""


def test_warm_up_loads_streamlits_emoji_catalogue_before_any_page():
    # a fresh interpreter: the test process may have compiled it already
    proc = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "True"

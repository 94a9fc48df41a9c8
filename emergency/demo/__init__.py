"""The demo family: synthetic, deterministic data for trying the app, the tests and the benchmark.

- generator.py  the core demo (teams, members, enterprises, drills, plans' history, demo accounts)
                that reproduces the county's published 2024 figures;
- linkage.py    a demo extension: contacts, roll calls, warnings and acknowledgements;
- samples.py    generated member import files (.xlsx / .csv) in the formats townships really send.

Nothing here runs in real use except on an empty database (the app's first start, `python -m
emergency demo`); every person is synthetic and flagged is_demo.
"""

from .generator import DEMO_PASSWORDS, generate, has_data

__all__ = ["DEMO_PASSWORDS", "generate", "has_data"]

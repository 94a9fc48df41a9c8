"""Regenerate emergency/templates/*.docx, the default Word templates (annual report, drill summary),
from emergency/report_template.py (run after changing the layout there; tests check the two agree)."""

from emergency import report_template

if __name__ == "__main__":
    for path in report_template.write_all():
        print(path)

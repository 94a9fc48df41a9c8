"""Regenerate emergency/templates/annual_report.docx, the default Word template of the annual report,
from emergency/report_template.py (run after changing the layout there; tests check the two agree)."""

from emergency import report_template

if __name__ == "__main__":
    print(report_template.write())

"""The quality report as a spreadsheet (CSV) and as a chart an agency can put in its own report.

Both are made from the same ``QualityReport`` as the JSON answer, so they show the same numbers.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from xml.sax.saxutils import escape

from backend.reports.indicators import Figures, QualityReport

CSV_FIGURES = (
    "dossiers",
    "online",
    "counter",
    "online_share",
    "on_time",
    "late",
    "open_overdue",
    "on_time_share",
    "average_processing_days",
    "level2",
    "level2_share",
    "ratings",
    "satisfied",
    "neutral",
    "dissatisfied",
    "satisfaction_share",
    "feedback",
    "feedback_refused",
    "feedback_due",
    "feedback_on_time",
    "feedback_on_time_share",
)
CSV_HEADER = ("scope", "procedure_name", "delivery_mode", *CSV_FIGURES, "upgrade_eligible")


# A cell opening with one of these is a formula to a spreadsheet; names are set by catalog
# managers and read by leaders, so a name must never run there (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """A name as a spreadsheet shows it: a leading apostrophe keeps it text."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _cells(figures: Figures) -> list[str]:
    return [str(getattr(figures, name)) for name in CSV_FIGURES]


def to_csv(report: QualityReport) -> str:
    """One row for the whole scope, then one per procedure; a BOM so spreadsheets read UTF-8."""
    eligible = {check.procedure.id: check.eligible for check in report.upgrade_checks}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerow(["total", _text(report.agency.name), "", *_cells(report.totals), ""])
    for row in report.by_procedure:
        procedure = row.procedure
        verdict = eligible.get(procedure.id)
        writer.writerow(
            [
                procedure.code,
                _text(procedure.name),
                procedure.delivery_mode.value,
                *_cells(row.figures),
                "" if verdict is None else ("yes" if verdict else "no"),
            ]
        )
    return "\ufeff" + out.getvalue()


# --- the chart ----------------------------------------------------------------------------

WIDTH, HEIGHT = 760, 400
LEFT, RIGHT, TOP, BOTTOM = 56, 24, 64, 64
SERIES = (
    ("online_share", "#1565c0", "Tỷ lệ hồ sơ trực tuyến (online share)"),
    ("on_time_share", "#2e7d32", "Tỷ lệ đúng hạn (on-time share)"),
)


def _y(percent: Decimal) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - float(percent) / 100)


def to_svg(report: QualityReport) -> str:
    """Monthly online and on-time shares as two lines, with the 30 % upgrade threshold."""
    months = [m.month for m in report.monthly]
    plot_width = WIDTH - LEFT - RIGHT
    step = plot_width / max(len(months) - 1, 1)

    def x(index: int) -> float:
        return LEFT + (step * index if len(months) > 1 else plot_width / 2)

    scope = report.procedure.name if report.procedure else report.agency.name
    title = f"{scope}: {report.start:%d/%m/%Y} - {report.end:%d/%m/%Y}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="24" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for percent in (0, 25, 50, 75, 100):
        y = _y(Decimal(percent))
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#e0e0e0"/>'
            f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{percent} %</text>'
        )
    threshold = _y(report.threshold_percent)
    parts.append(
        f'<line x1="{LEFT}" y1="{threshold:.1f}" x2="{WIDTH - RIGHT}" y2="{threshold:.1f}" '
        f'stroke="#c62828" stroke-dasharray="6 4"/>'
        f'<text x="{WIDTH - RIGHT}" y="{threshold - 6:.1f}" text-anchor="end" fill="#c62828">'
        f"{report.threshold_percent} % (Điều 21)</text>"
    )
    for index, month in enumerate(months):
        label = f"{month[5:]}/{month[:4]}"
        parts.append(
            f'<text x="{x(index):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">'
            f"{label}</text>"
        )
    for series, (name, colour, legend) in enumerate(SERIES):
        points = [
            (x(i), _y(getattr(m.figures, name)), getattr(m.figures, name))
            for i, m in enumerate(report.monthly)
        ]
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for px, py, value in points:
            parts.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}">'
                f"<title>{value} %</title></circle>"
            )
        legend_y = HEIGHT - 22
        legend_x = LEFT + series * 330
        parts.append(
            f'<rect x="{legend_x}" y="{legend_y - 9}" width="14" height="4" fill="{colour}"/>'
            f'<text x="{legend_x + 20}" y="{legend_y - 4}">{escape(legend)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"

"""The minutes as a PDF: a calm, printable record built from a snapshot (no database access).

DejaVu Sans is used when installed, so names in any script print as written; without it the
core Helvetica font is used and the text is reduced to Latin-1 (dashes and quotes become their
plain equivalents), so a missing font package degrades the look, never the content.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fpdf import FPDF, FontFace, XPos, YPos

from server.conference.minutes_pdf import conference_section
from server.minutes.snapshot import local_datetime, local_time, long_date
from server.timeutil import duration

# fontTools logs every glyph it keeps at INFO, dozens of lines per PDF; only its warnings matter.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
DEJAVU_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}

Colour = tuple[int, int, int]
TEXT: Colour = (27, 35, 40)
MUTED: Colour = (79, 91, 98)
BRAND: Colour = (11, 58, 64)
RULE: Colour = (197, 207, 212)
SHADE: Colour = (243, 245, 246)
PRO: Colour = (74, 47, 119)
DISSENT: Colour = (122, 46, 11)

LATIN1_FALLBACKS = str.maketrans(
    {
        "\u2014": "-",  # em dash
        "\u2013": "-",  # en dash
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u2022": "*",
        "\u00a0": " ",
    }
)


def build_pdf(snapshot: dict[str, Any], *, compress: bool = True, font_dir: Path | None = DEJAVU_DIR) -> bytes:
    """The minutes of one copy as PDF bytes. ``compress=False`` leaves the content streams
    readable (for tests); ``font_dir=None`` forces the core-font fallback."""
    pdf = MinutesPdf(snapshot, font_dir=font_dir)
    pdf.set_compression(compress)
    pdf.add_page()
    pdf.title_block()
    pdf.attendance()
    pdf.agenda()
    conference_section(pdf, snapshot)
    pdf.voice_balance()
    pdf.action_plan()
    return bytes(pdf.output())


WITHHELD = "An item for professionals only"


class MinutesPdf(FPDF):
    """Layout of the minutes. Each section is a method; the header and footer name the copy on
    every page, so a printed page found on its own still says whom it was meant for."""

    def __init__(self, snapshot: dict[str, Any], *, font_dir: Path | None) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.snapshot = snapshot
        self.meeting: dict[str, Any] = snapshot["meeting"]
        self.copy_label: str = snapshot["copy_label"]
        self.unicode = self._load_fonts(font_dir)
        self.face = "DejaVu" if self.unicode else "Helvetica"
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title(self.t(f"Minutes: {self.meeting['title']} ({self.copy_label})"))
        self.set_author("Roundtable")
        self.set_creator("Roundtable")

    # --- fonts and text -------------------------------------------------------------------------

    def _load_fonts(self, font_dir: Path | None) -> bool:
        if font_dir is None or not all((font_dir / name).is_file() for name in DEJAVU_FILES.values()):
            return False
        for style, name in DEJAVU_FILES.items():
            self.add_font("DejaVu", style, str(font_dir / name))
        return True

    def t(self, text: object) -> str:
        """Text as the current font can print it."""
        value = "" if text is None else str(text)
        if self.unicode:
            return value
        value = unicodedata.normalize("NFKC", value).translate(LATIN1_FALLBACKS)
        return value.encode("latin-1", "replace").decode("latin-1")

    def use(self, size: float, style: str = "", colour: Colour = TEXT) -> None:
        self.set_font(self.face, style, size)
        self.set_text_color(*colour)

    def para(
        self, text: object, *, size: float = 10.5, style: str = "", colour: Colour = TEXT, indent: float = 0
    ) -> None:
        self.use(size, style, colour)
        self.set_x(self.l_margin + indent)
        self.multi_cell(0, size * 0.5, self.t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")

    def heading(self, text: str, *, keep_with: float = 30) -> None:
        """A section heading; starts a new page rather than leave it at the foot of one without
        ``keep_with`` millimetres of what follows."""
        if self.will_page_break(keep_with):
            self.add_page()
        self.ln(5)
        self.use(14, "B", BRAND)
        self.cell(0, 8, self.t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*BRAND)
        self.set_line_width(0.4)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(3)

    # --- page furniture ---------------------------------------------------------------------

    document = "Minutes"

    def header(self) -> None:
        self.use(8.5, "", MUTED)
        self.set_y(9)
        reference = self.meeting["case"]["reference"]
        self.cell(0, 5, self.t(f"Roundtable · {self.document} · {reference}"), new_x=XPos.LMARGIN, new_y=YPos.TOP)
        self.use(8.5, "B", PRO if self.snapshot["audience"] == "professionals" else BRAND)
        self.cell(0, 5, self.t(self.copy_label), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.set_y(self.t_margin + 2)

    def footer(self) -> None:
        self.set_y(-12)
        self.use(8, "", MUTED)
        note = f"Confidential: share only as the plan agrees. {self.copy_label}."
        self.cell(0, 5, self.t(note), new_x=XPos.LMARGIN, new_y=YPos.TOP)
        self.cell(0, 5, self.t(f"Page {self.page_no()} of {{nb}}"), align="R")

    # --- sections -------------------------------------------------------------------------------

    def title_block(self) -> None:
        meeting = self.meeting
        case = meeting["case"]
        self.para(f"{meeting['kind_label']} · {case['reference']} · {case['display_name']}", size=10, colour=MUTED)
        self.ln(1)
        self.para(meeting["title"], size=20, style="B", colour=BRAND)
        self.ln(3)
        chair = meeting["chair"]
        rows = [
            ("Scheduled", local_datetime(meeting["scheduled_at"])),
            ("Started", local_datetime(meeting["started_at"])),
            ("Ended", local_datetime(meeting["ended_at"])),
            ("Chair", f"{chair['name']}, {chair['agency']}"),
            ("Location", meeting.get("location") or "Online (Roundtable)"),
        ]
        for key, value in rows:
            self.key_value(key, value)

    def key_value(self, key: str, value: str) -> None:
        self.use(10, "B", MUTED)
        self.cell(32, 6, self.t(key), new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.use(10.5)
        self.multi_cell(0, 6, self.t(value or "Not recorded"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def attendance(self) -> None:
        self.heading("Who was there")
        groups = self.snapshot["attendance"]
        if not groups:
            self.para("Nobody joined the meeting.", colour=MUTED)
        for group in groups:
            self.use(10.5, "B")
            self.cell(0, 6, self.t(group["agency"]["name"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.para("; ".join(_attendee(p) for p in group["people"]), indent=4)
            self.ln(1)
        if self.snapshot["absent"]:
            names = "; ".join(f"{p['name']} ({p['agency']})" for p in self.snapshot["absent"])
            self.ln(1)
            self.para(f"Invited but not present: {names}", size=10, colour=MUTED)

    def outcome(self) -> None:
        """The conference outcome in the outcome letter, when one was recorded."""
        outcome = self.snapshot.get("outcome")
        if not outcome:
            return
        self.heading("Conference outcome")
        decided = outcome["plan_label"]
        if outcome["category_labels"]:
            decided += f" under the category of {', '.join(outcome['category_labels']).lower()}"
        self.para(decided + ".", style="B")
        if outcome["reasons"]:
            self.ln(1)
            self.para(outcome["reasons"])
        for view in outcome["views"]:
            text = f"{view['agency']}: {view['view_label']}"
            if view["reason"]:
                text += f". Reason: {view['reason']}"
            self.para(
                text,
                size=10,
                style="B" if view["dissents"] else "",
                colour=DISSENT if view["dissents"] else MUTED,
                indent=4,
            )

    def agenda(self) -> None:
        self.heading("Agenda, discussion and decisions")
        items = self.snapshot["items"]
        if not items:
            self.para("The agenda was empty.", colour=MUTED)
        expected = 1
        for item in items:
            for number in range(expected, item["number"]):  # the family's copy keeps the numbers
                self.ln(2)
                self.para(f"{number}. {WITHHELD}", size=12.5, colour=MUTED)
            expected = item["number"] + 1
            self.agenda_item(item)

    def agenda_item(self, item: dict[str, Any]) -> None:
        if self.will_page_break(25):
            self.add_page()
        self.ln(2)
        self.para(f"{item['number']}. {item['title']}", size=12.5, style="B")
        if item["professionals_only"]:
            self.para("Professionals only: not in the family's copy", size=8.5, style="B", colour=PRO)
        if item["minutes"]:
            self.ln(1)
            self.para(item["minutes"])
        if item.get("notes"):
            self.ln(1)
            self.para(item["notes"])
        for decision in item["decisions"]:
            self.decision(decision)
        actions = [a for a in self.snapshot["actions"] if a["id"] in set(item["action_ids"])]
        for action in actions:
            self.para(f"Action: {action['title']} ({action['owner']}, by {long_date(action['due_date'])})", indent=4)
        if not item["minutes"] and not item.get("notes") and not item["decisions"] and not actions:
            self.para("Nothing was recorded under this item.", size=10, style="I", colour=MUTED)

    def decision(self, decision: dict[str, Any]) -> None:
        self.ln(2)
        x, y, page = self.l_margin + 1, self.get_y(), self.page_no()
        self.para(f"Decision ({decision['outcome_label']})", size=10, style="B", colour=BRAND, indent=4)
        self.para(decision["text"], indent=4)
        for position in decision["positions"]:
            text = f"{position['agency']}: {position['position_label']}"
            dissent = position["position"] == "disagree"
            if position["reason"]:
                text += f". Reason: {position['reason']}"
            self.para(text, size=10, style="B" if dissent else "", colour=DISSENT if dissent else MUTED, indent=8)
        if self.page_no() == page:  # a rule beside the decision, as on the page (not across a page break)
            self.set_draw_color(*BRAND)
            self.set_line_width(0.6)
            self.line(x, y + 0.5, x, self.get_y() - 0.5)

    def voice_balance(self) -> None:
        balance = self.snapshot["voice_balance"]
        self.heading("Balance of voices", keep_with=75)
        if not balance["by_agency"]:
            self.para("No turns at speaking were recorded.", colour=MUTED)
            return
        self.para(f"Speaking time in all: {duration(balance['total_seconds'])}.", size=10, colour=MUTED)
        self.ln(1)
        rows = [(a["agency"], duration(a["seconds"]), f"{a['share']}%") for a in balance["by_agency"]]
        self.table_of(("Agency", "Speaking time", "Share"), rows, (90, 45, 39), numeric=(1, 2))
        self.ln(3)
        rows = [(p["name"], p["agency"], duration(p["seconds"])) for p in balance["by_person"]]
        self.table_of(("Person", "Agency", "Speaking time"), rows, (70, 65, 39), numeric=(2,))
        if balance["not_heard"]:
            self.ln(2)
            self.para(f"Present but did not take a turn: {', '.join(balance['not_heard'])}.", size=10, colour=MUTED)

    def action_plan(self) -> None:
        self.heading("Action plan", keep_with=45)
        actions = self.snapshot["actions"]
        if not actions:
            self.para("No actions were agreed.", colour=MUTED)
            return
        rows = [
            (
                a["title"],
                f"{a['owner']}\n{a['agency']}",
                a["outcome_area_label"],
                long_date(a["due_date"]),
                a["status_label"],
            )
            for a in actions
        ]
        self.table_of(("Action", "Owner", "Outcome area", "Due", "Status"), rows, (52, 34, 32, 32, 24))

    def table_of(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        *,
        numeric: Sequence[int] = (),
    ) -> None:
        """A plain ruled table whose heading row repeats on each page it spans."""
        self.use(9.5)
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        heading_style = FontFace(emphasis="BOLD", color=TEXT, fill_color=SHADE)
        with self.table(
            col_widths=tuple(widths),
            width=sum(widths),
            align="LEFT",
            text_align="LEFT",
            v_align="TOP",
            headings_style=heading_style,
            line_height=5,
            padding=1.6,
            borders_layout="HORIZONTAL_LINES",
        ) as table:
            head = table.row()
            for index, text in enumerate(headings):
                head.cell(self.t(text), align="RIGHT" if index in numeric else "LEFT")
            for values in rows:
                row = table.row()
                for index, text in enumerate(values):
                    row.cell(self.t(text), align="RIGHT" if index in numeric else "LEFT")


def _attendee(person: dict[str, Any]) -> str:
    notes = []
    if person["is_chair"]:
        notes.append("chair")
    if person["left_at"]:
        notes.append(f"left at {local_time(person['left_at'])}")
    name = str(person["name"])
    return f"{name} ({', '.join(notes)})" if notes else name

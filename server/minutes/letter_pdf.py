"""The outcome letter as a PDF, in the minutes' layout (fonts, header naming the copy, tables)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.minutes.pdf import DEJAVU_DIR, DISSENT, MUTED, MinutesPdf
from server.minutes.snapshot import local_datetime, long_date


def build_letter_pdf(letter: dict[str, Any], *, compress: bool = True, font_dir: Path | None = DEJAVU_DIR) -> bytes:
    pdf = LetterPdf(letter, font_dir=font_dir)
    pdf.set_compression(compress)
    pdf.add_page()
    pdf.title_block()
    pdf.next_steps()
    pdf.outcome()
    pdf.decisions()
    pdf.action_plan()
    pdf.who()
    return bytes(pdf.output())


class LetterPdf(MinutesPdf):
    document = "Outcome letter"

    def __init__(self, letter: dict[str, Any], *, font_dir: Path | None) -> None:
        super().__init__(letter, font_dir=font_dir)
        self.set_title(self.t(f"Outcome: {self.meeting['title']} ({self.copy_label})"))

    def next_steps(self) -> None:
        if amended := self.snapshot.get("amended_at"):
            self.para(
                f"Amended {local_datetime(amended)}: the conference outcome was recorded after the meeting ended.",
                style="B",
            )
        self.heading("What happens next")
        self.para(self.snapshot["next_line"], style="B")
        for milestone in self.snapshot["milestones"]:
            self.para(f"{milestone['label']}: due by {long_date(milestone['due_on'])}", indent=4)
        for meeting in self.snapshot["next_meetings"][1:]:
            self.para(f"Then: {meeting['kind_label']}, {local_datetime(meeting['scheduled_at'])}", indent=4)
        self.ln(1)
        self.para(
            "The full minutes follow as a draft: attendees may correct them until "
            f"{long_date(self.snapshot['draft_until'])}.",
            size=10,
            colour=MUTED,
        )

    def decisions(self) -> None:
        self.heading("What was decided")
        if not self.snapshot["decisions"]:
            self.para("No decisions were recorded.", colour=MUTED)
        for decision in self.snapshot["decisions"]:
            self.ln(1)
            self.para(f"{decision['item']} ({decision['outcome_label']})", size=10, style="B", colour=MUTED)
            self.para(decision["text"], indent=4)
            for dissent in decision["dissent"]:
                self.para(f"{dissent['agency']} disagrees: {dissent['reason']}", size=10, colour=DISSENT, indent=8)

    def who(self) -> None:
        self.heading("Who was there", keep_with=20)
        self.para("; ".join(self.snapshot["present"]) or "Nobody joined the meeting.")
        if self.snapshot["absent"]:
            self.ln(1)
            self.para(f"Invited but not present: {'; '.join(self.snapshot['absent'])}", size=10, colour=MUTED)

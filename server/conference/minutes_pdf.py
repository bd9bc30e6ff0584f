"""The conference's part of the minutes PDF: the child's voice, the outcome with each agency's
view and dissent, the mapping board and the revealed scales. Reads the snapshot's dict, where an
older snapshot simply has none of it."""

from __future__ import annotations

from typing import Any, Protocol

from server.conference.models import Category, Column


class Writer(Protocol):
    def heading(self, text: str, *, keep_with: float = 30) -> None: ...

    def para(self, text: str, *, size: float = ..., style: str = ..., indent: float = ...) -> None: ...


def conference_section(pdf: Writer, snapshot: dict[str, Any]) -> None:
    voice = snapshot.get("child_voice")
    if voice:
        pdf.heading("The child's voice")
        pdf.para(f"“{voice['words']}”", style="I")
        by = f" by {voice['gathered_by']['name']}" if voice.get("gathered_by") else ""
        attended = "attended" if voice["child_attended"] else "did not attend"
        offered = "was" if voice["advocate_offered"] else "was not"
        pdf.para(f"Gathered {voice['how_gathered']}{by}. The child {attended}; an advocate {offered} offered.", size=10)
    outcome = snapshot.get("outcome")
    if outcome:
        pdf.heading("Outcome of the conference")
        decided = (
            "The child needs a child protection plan"
            if outcome["plan"]
            else ("The child protection plan ends" if outcome.get("ends_plan") else "No child protection plan")
        )
        categories = ", ".join(Category.label_of(c) for c in outcome["categories"])
        pdf.para(decided + (f": {categories}" if categories else "") + ".", style="B")
        pdf.para(f"Reasons: {outcome['reasons']}")
        for view in outcome["views"]:
            text = f"{view['agency']['name']}: {'a plan' if view['view'] == 'plan' else 'no plan'}"
            if view["dissent"]:
                text += " (dissent)"
            if view.get("reason"):
                text += f". Reason: {view['reason']}"
            pdf.para(text, size=10, style="B" if view["dissent"] else "", indent=4)
    mapping = snapshot.get("mapping") or []
    if mapping:
        pdf.heading("Mapping")
        for column in Column:
            entries = [e for e in mapping if e["column"] == column]
            if entries:
                pdf.para(column.label, style="B")
                for entry in entries:
                    pdf.para(f"- {entry['text']} ({entry['author']['name']})", size=10, indent=4)
    scales = snapshot.get("scales") or []
    if scales:
        pdf.heading("Scaling (0 to 10)")
        for scale in scales:
            pdf.para(scale["question"], style="B")
            for score in scale["scores"]:
                reason = f": {score['reason']}" if score.get("reason") else ""
                pdf.para(
                    f"{score['user']['name']} ({score['agency']['name']}): {score['score']}{reason}", size=10, indent=4
                )

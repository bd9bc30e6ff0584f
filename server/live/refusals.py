"""A refused room form, shown beside the form and the field it is about.

Every room form carries its own id in a hidden ``_form`` field (live/_macros.html ``post``). When
an operation is refused, the region that holds that form is rendered again for the person who
posted it, with the message beside the field (marked aria-invalid and described by the message),
what they typed kept, and focus sent to the message (``autofocus`` on it: no script needed). With
htmx that region is the answer (4xx, swapped out of band like a live update); without JavaScript
the whole room is the answer (422). Which region holds the form is found by rendering, not by a
table, so a panel added to the room later needs nothing here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from jinja2 import Environment

from server.errors import DomainError
from server.live.regions import REGION_ORDER, template_of
from server.meetings.state import RoomView

FORM_FIELD = "_form"


@dataclass(slots=True)
class Refusal:
    """What the region templates need to show one refusal: the form's id, each field's message
    ("form" for the form as a whole), and the values as they were sent."""

    form: str
    errors: dict[str, str]
    values: Mapping[str, str]
    shown: set[str] = field(default_factory=set)
    focused: bool = False

    def has(self, form: str, name: str) -> bool:
        return form == self.form and name in self.errors

    def message(self, form: str, name: str) -> str | None:
        """The message for one field of ``form``, noted as shown."""
        if not self.has(form, name):
            return None
        self.shown.add(name)
        return self.errors[name]

    def leftover(self, form: str) -> list[str]:
        """The messages no field of ``form`` showed: they go beside its button."""
        if form != self.form:
            return []
        return [message for name, message in self.errors.items() if name not in self.shown]

    def focus(self) -> bool:
        """True once: only the first message shown takes the focus."""
        first = not self.focused
        self.focused = True
        return first

    def typed(self, form: str, name: str, default: str = "") -> str:
        return self.values.get(name, default) if form == self.form else default


def refusal_of(error: DomainError, data: Mapping[str, str]) -> Refusal | None:
    """The refusal for the form named in ``data``, or None when the post named no room form."""
    form = data.get(FORM_FIELD, "")
    if not form:
        return None
    return Refusal(form=form, errors=dict(error.problems), values=dict(data))


def region_holding(env: Environment, view: RoomView, refusal: Refusal, csrf_token: str) -> str | None:
    """The region with the refused form in it, rendered with the refusal; None if no region has it
    (the room changed meanwhile, say, and the form is gone)."""
    marker = f'id="{refusal.form}"'
    for region in REGION_ORDER:
        refusal.shown.clear()
        refusal.focused = False
        html = env.get_template(template_of(region)).render(view=view, csrf_token=csrf_token, refusal=refusal)
        if marker in html:
            return html
    return None

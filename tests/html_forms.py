"""Reading pages as a browser does for their forms: each form's fields with the values it would
send, its submit buttons, and the error shown beside a field (the field marked aria-invalid and
described by its message)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx

TEXT_TYPES = ("text", "email", "search", "url", "tel", "password")


@dataclass
class Field:
    tag: str
    name: str
    type: str
    value: str
    id: str | None
    attrs: dict[str, str | None]
    options: list[str] = field(default_factory=list)

    @property
    def is_text(self) -> bool:
        """Free text a person types: the fields whose length must be bounded."""
        return self.tag == "textarea" or (self.tag == "input" and self.type in TEXT_TYPES)


@dataclass
class Form:
    action: str
    method: str
    fields: list[Field] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (name, value) of each submit button

    def values(self) -> dict[str, str]:
        """What submitting it unchanged sends (checkboxes as rendered, selects' chosen option)."""
        sent: dict[str, str] = {}
        for f in self.fields:
            if f.type in ("checkbox", "radio") and "checked" not in f.attrs:
                continue
            sent[f.name] = f.value
        return sent


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.by_id: dict[str, dict[str, str | None]] = {}
        self.text_of: dict[str, str] = {}
        self._form: Form | None = None
        self._textarea: Field | None = None
        self._select: Field | None = None
        self._open_ids: list[tuple[str, str]] = []  # (tag, id) of elements whose text is collected

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.by_id[a["id"] or ""] = {"tag": tag, **a}
            if tag in ("p", "span", "div", "li", "strong", "h2"):
                self._open_ids.append((tag, a["id"] or ""))
                self.text_of.setdefault(a["id"] or "", "")
        if tag == "form":
            self._form = Form(action=a.get("action") or "", method=(a.get("method") or "get").lower())
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind == "submit":
                self._form.buttons.append((name, a.get("value") or ""))
            else:
                self._form.fields.append(Field(tag, name, kind, a.get("value") or "", a.get("id"), a))
        elif tag == "button" and (a.get("type") or "submit") == "submit":
            self._form.buttons.append((name or "", a.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea = Field(tag, name, "textarea", "", a.get("id"), a)
            self._form.fields.append(self._textarea)
        elif tag == "select" and name:
            self._select = Field(tag, name, "select", "", a.get("id"), a)
            self._form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            value = a.get("value") or ""
            self._select.options.append(value)
            if "selected" in a or len(self._select.options) == 1:
                self._select.value = value

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        if self._open_ids and self._open_ids[-1][0] == tag:
            self._open_ids.pop()

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data
        for _, element_id in self._open_ids:
            self.text_of[element_id] += data


class Document:
    def __init__(self, html: str) -> None:
        parser = _Parser()
        parser.feed(html)
        parser.close()
        self.forms = parser.forms
        self._by_id = parser.by_id
        self._text_of = parser.text_of

    def form(self, action: str) -> Form:
        found = [f for f in self.forms if f.action == action]
        assert found, f"no form posts to {action}: {[f.action for f in self.forms]}"
        return found[0]

    def error_beside(self, field_id: str) -> str | None:
        """The message shown beside a field, if the field is marked invalid and described by it."""
        control = self._by_id.get(field_id)
        assert control is not None, f"no element with id {field_id!r}"
        if control.get("aria-invalid") != "true":
            return None
        error_id = f"{field_id}-error"
        described = (control.get("aria-describedby") or "").split()
        assert error_id in described, f"{field_id} is invalid but not described by its error"
        return " ".join(self._text_of.get(error_id, "").split()).removeprefix("Error: ")

    def value_of(self, field_id: str) -> str | None:
        control = self._by_id.get(field_id)
        return None if control is None else control.get("value")


async def post_form(
    client: httpx.AsyncClient, path: str, fields: dict[str, str], headers: dict[str, str] | None = None
) -> httpx.Response:
    """Post a form as a browser does: form-encoded, with the hidden CSRF field."""
    if not client.cookies.get("csrftoken"):
        await client.get("/sign-in")
    data = {**fields, "_csrf_token": client.cookies.get("csrftoken") or ""}
    return await client.post(path, data=data, headers=headers or {})

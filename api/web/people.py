"""People as colleagues know them on every page: name and position, never a login name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from api.web.i18n import translations
from engine import worklist
from engine.models import User

# A username is a login: lower-case letters, digits, dots, dashes, underscores (e.g. roads.staff).
_LOGIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")


def looks_like_login(text: str) -> bool:
    return 0 < len(text) <= 100 and text[0].isascii() and text[0].isalpha() and set(text) <= _LOGIN_CHARS


def shown(user: User) -> str:
    """"이름 (직위)": the position is left out when the name already ends with it (정팀장)."""
    name = user.display_name
    return f"{name} ({user.position})" if user.position and not name.endswith(user.position) else name


class People:
    """The people a page names, looked up once: ``people("roads.staff")`` → "김도로 (주무관)".

    The system's own actors are named in the page's language; a username nobody has any more is
    "someone no longer here", never the login itself.
    """

    def __init__(self, session: Session, locale: str, usernames: Iterable[str] = ()) -> None:
        self._session = session
        self._known: dict[str, User | None] = {}
        gettext = translations(locale).gettext
        self._systems = {"system:engine": gettext("the system"), "system:timer": gettext("the timer"),
                         "system:worker": gettext("the system"),
                         "system:message": gettext("a message from outside")}
        self._gone = gettext("someone no longer here")
        self.load(usernames)

    def load(self, usernames: Iterable[str]) -> None:
        """Look up, in one query, whichever of ``usernames`` this page has not met yet."""
        missing = sorted({u for u in usernames if isinstance(u, str) and u and u not in self._known
                          and not u.startswith("system:")})
        if not missing:
            return
        found = worklist.users_named(self._session, missing)
        for username in missing:
            self._known[username] = found.get(username)

    def user(self, username: str | None) -> User | None:
        if not username or username.startswith("system:"):
            return None
        if username not in self._known:
            self.load([username])
        return self._known.get(username)

    def knows(self, username: object) -> bool:
        """Whether ``username`` is someone's login (so a value holding it names a person)."""
        return isinstance(username, str) and looks_like_login(username) and self.user(username) is not None

    def __call__(self, someone: str | Mapping[str, Any] | None) -> str:
        """A login, or a person as a form's person field holds them (``{"user", "name", "position", …}``)."""
        name = _given(someone, "name")
        if name:
            position = _given(someone, "position")
            return f"{name} ({position})" if position and not name.endswith(position) else name
        login = _login(someone)
        if not login:
            return "—"
        user = self.user(login)
        if user is not None:
            return shown(user)
        return self._systems.get(login, self._gone)

    def name(self, someone: str | Mapping[str, Any] | None) -> str:
        """The name alone (a stamp carries only the name)."""
        user = self.user(_login(someone))
        return _given(someone, "name") or (user.display_name if user is not None else self(someone))

    def position(self, someone: str | Mapping[str, Any] | None) -> str:
        user = self.user(_login(someone))
        return _given(someone, "position") or ((user.position or "") if user is not None else "")


def _given(someone: object, key: str) -> str | None:
    """What a person field's value says of them (``name``, ``position``, ``user``)."""
    value = someone.get(key) if isinstance(someone, Mapping) else None
    return value if isinstance(value, str) and value else None


def _login(someone: str | Mapping[str, Any] | None) -> str | None:
    return _given(someone, "user") if isinstance(someone, Mapping) else someone

"""Guessing passwords is slowed by counting failed logins in moving windows (the ``limits`` library),
never by sleeping and never by locking an account:

- from one address, at most 20 failed logins in 15 minutes, whatever the names tried;
- for one name from one address, at most 5 in 15 minutes;
- for one name from all addresses together, at most 50 in 5 minutes — against guessing from many
  machines. This is the only limit someone else can run up for a name, so the right password from a
  fresh address is refused for at most five minutes, however long an attack goes on.

A throttled login is answered 429 with ``Retry-After``, the same for a name that exists and one that
does not (the counts are kept by name as typed, before anyone is looked up); a wrong password and
an unknown name are answered alike, after the same password hashing. A success clears that name's
count from that address. The counts live in the server process: each server of a city counts its own
(behind a load balancer, an attacker gets as many tries as there are servers).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from engine.errors import AccountLocked

FROM_ADDRESS = RateLimitItemPerMinute(20, 15)
NAME_FROM_ADDRESS = RateLimitItemPerMinute(5, 15)
NAME_ANYWHERE = RateLimitItemPerMinute(50, 5)


class LoginThrottled(AccountLocked):
    """Too many failed logins from this address or for this name; ``retry_after`` in seconds."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(f"too many failed logins; try again in {minutes} minute{'s' if minutes > 1 else ''}")
        self.retry_after = retry_after


class LoginThrottle:
    def __init__(self) -> None:
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def _limits(self, username: str, address: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        name = username.strip().lower()
        return [(FROM_ADDRESS, ("address", address)), (NAME_FROM_ADDRESS, ("name-address", name, address)),
                (NAME_ANYWHERE, ("name", name))]

    def check(self, username: str, address: str) -> None:
        """Refuse a login attempt that a limit has been reached for, before any password is looked at."""
        waits = []
        for item, keys in self._limits(username, address):
            if not self.limiter.test(item, *keys):
                reset, _ = self.limiter.get_window_stats(item, *keys)
                waits.append(max(1, int(reset - time.time())))
        if waits:
            raise LoginThrottled(max(waits))

    def failed(self, username: str, address: str) -> None:
        for item, keys in self._limits(username, address):
            self.limiter.hit(item, *keys)

    def succeeded(self, username: str, address: str) -> None:
        self.limiter.clear(NAME_FROM_ADDRESS, "name-address", username.strip().lower(), address)


def throttle_of(request: Request) -> LoginThrottle:
    """The app's one throttle (made on first use)."""
    state = request.app.state
    if getattr(state, "login_throttle", None) is None:
        state.login_throttle = LoginThrottle()
    throttle: LoginThrottle = state.login_throttle
    return throttle


def address_of(request: Request) -> str:
    """Where a login comes from: the client's address as the server sees it (behind a reverse proxy, run
    uvicorn with ``--forwarded-allow-ips`` so that this is the person's, not the proxy's)."""
    return request.client.host if request.client else "unknown"

"""Collapse rapid calls (a dragged slider) into one call with the latest arguments."""
from __future__ import annotations

import threading
from typing import Callable


class Debouncer:
    """Collapse rapid calls into one: each call (re)starts a timer; ``fn`` runs once, with the latest arguments,
    ``delay`` seconds after the last call. ``delay=None`` never fires by itself — call :meth:`flush` (tests, CI).

    >>> seen = []
    >>> d = Debouncer(seen.append, delay=None)
    >>> for phi in (0.1, 0.2, 0.3):
    ...     d(phi)
    >>> d.flush(); seen
    [0.3]
    """

    def __init__(self, fn: Callable, delay: float | None = 0.35, *, timer_factory=threading.Timer):
        self.fn = fn
        self.delay = delay
        self._timer_factory = timer_factory
        self._lock = threading.Lock()
        self._timer = None
        self._pending = None  # (args, kwargs) of the latest call not yet run
        self.calls = 0  # how many times fn actually ran

    @property
    def pending(self) -> bool:
        return self._pending is not None

    def __call__(self, *args, **kwargs) -> None:
        with self._lock:
            self._pending = (args, kwargs)
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self.delay is not None:
                self._timer = self._timer_factory(self.delay, self._fire)
                self._timer.daemon = True
                self._timer.start()

    def _take(self):
        with self._lock:
            pending, self._pending = self._pending, None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            return pending

    def _fire(self):
        pending = self._take()
        if pending is not None:
            self.calls += 1
            self.fn(*pending[0], **pending[1])

    def flush(self) -> None:
        """Run the pending call now (in this thread), if there is one."""
        self._fire()

    def cancel(self) -> None:
        """Drop the pending call."""
        self._take()

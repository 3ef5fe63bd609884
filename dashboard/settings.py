"""Numbers read from the environment, with the message a bad value gets (a typo in a deployment's
settings should stop the start, naming the variable, not surface later as a traceback)."""

from __future__ import annotations

import os


def env_bytes(name: str, default: int, *, zero_is_off: bool) -> int:
    """A byte count from ``name`` (``default`` when unset); 0 is allowed only where it means off."""
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of bytes, got {raw!r}") from None
    if value < 0 or (value == 0 and not zero_is_off):
        raise ValueError(f"{name} must be {'0 (off) or ' if zero_is_off else ''}positive, got {value}")
    return value

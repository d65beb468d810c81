"""The live FAQ routing index of services/nlu.py, swapped whole when staff publish an edit.

``current(build)`` gives the index in use: a candidate set for this thread (``candidate``: the
dashboard's "what would this change do"), else the live one, built on first use. ``install``
replaces the live one (services/knowledge_live.py) and moves the generation on; ``per_index`` is
``classify``'s cache, keyed by the text and the generation, so an answer cached for an old index
is never served again (and a candidate is never cached).
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import threading
from typing import Any, Callable

_live: Any = None
_generation = 0
_lock = threading.Lock()
_candidate: contextvars.ContextVar[Any] = contextvars.ContextVar("faq_candidate_index", default=None)


def current(build: Callable[[], Any]) -> Any:
    global _live
    candidate = _candidate.get()
    if candidate is not None:
        return candidate
    if _live is None:
        with _lock:
            if _live is None:
                _live = build()
    return _live


def install(index: Any) -> None:
    """Serve ``index`` from the next classification on (None: build again on next use)."""
    global _live, _generation
    with _lock:
        _live = index
        _generation += 1


@contextlib.contextmanager
def candidate(index: Any):
    """Classify with ``index`` inside the block, in this thread only, without the cache."""
    token = _candidate.set(index)
    try:
        yield
    finally:
        _candidate.reset(token)


def per_index(fn):
    """``functools.lru_cache`` keyed by the text and the live index's generation."""
    cached = functools.lru_cache(maxsize=2048)(lambda text, generation: fn(text))

    @functools.wraps(fn)
    def wrapper(text: str):
        if _candidate.get() is not None:
            return fn(text)
        return cached(text, _generation)
    wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    wrapper.cache_info = cached.cache_info  # type: ignore[attr-defined]
    return wrapper

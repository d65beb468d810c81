"""Tables of the welfare conversation (imported by services.models so that Alembic sees them)."""
from __future__ import annotations

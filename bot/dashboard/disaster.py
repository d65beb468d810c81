"""Dashboard pages of the disaster conversation (routes on the dashboard blueprint)."""
from __future__ import annotations

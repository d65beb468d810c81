"""Dashboard pages of the dengue conversation (routes on the dashboard blueprint)."""
from __future__ import annotations

"""Data for the bot: resident-facing texts, contacts, categories, villages, routing.

This package holds YAML and GeoJSON only; ``services.knowledge`` loads and checks it.
"""

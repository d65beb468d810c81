"""Disaster reports (flow id ``disaster``, case prefix ``S``): not built yet.

The router registers a conversation module by its FLOW; while FLOW is None the label
``disaster_report`` gets the best FAQ answer or the office phone.
"""
FLOW = None

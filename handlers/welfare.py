"""The welfare screener (flow id ``welfare``, call-back case prefix ``W``): not built yet.

The router registers a conversation module by its FLOW; while FLOW is None the label
``welfare`` gets the best FAQ answer or the office phone.
"""
FLOW = None

"""Dengue (flow id ``dengue``, case prefix ``D``): not built yet.

The router registers a conversation module by its FLOW; while FLOW is None the labels
``dengue_report`` and ``dengue_info`` get the best FAQ answer or the office phone.
"""
FLOW = None

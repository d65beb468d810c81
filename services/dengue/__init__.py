"""The dengue domain (no Flask, no LINE calls):

- ``words``: symptom words (with negations) and information topics, from knowledge/dengue.yaml;
- ``subscriptions``: the reminder subscriptions (the actions ``subscribe`` / ``unsubscribe``);
- ``anonymous``: what an anonymous breeding-site report must not keep (``anonymise``,
  ``cleanup_anonymous``);
- ``reminders``: the weekly and one-off 巡倒清刷 reminder runs and their pushes;
- ``models``: the tables (imported by services.schema, so that Alembic sees them).

What other modules use is re-exported here, so ``services.dengue:subscribe`` names an action.
"""
from services.dengue import reminders
from services.dengue.anonymous import CLEANUP_WAIT, CLOCK_MARGIN, anonymise, anonymous_source_id, cleanup_anonymous
from services.dengue.models import DengueAnonCleanup, DengueReminderDelivery, DengueReminderRun, DengueSubscription
from services.dengue.subscriptions import (subscribe, subscribed_village, subscriber_counts, subscription,
                                           unsubscribe)
from services.dengue.words import KIND, cfg, fever_or_dengue, info_topic, info_topics, symptom_level, topic

__all__ = [
    "CLEANUP_WAIT", "CLOCK_MARGIN", "DengueAnonCleanup", "DengueReminderDelivery", "DengueReminderRun",
    "DengueSubscription", "KIND", "anonymise", "anonymous_source_id", "cfg", "cleanup_anonymous",
    "fever_or_dengue", "info_topic", "info_topics", "reminders", "subscribe", "subscribed_village",
    "subscriber_counts", "subscription", "symptom_level", "topic", "unsubscribe",
]

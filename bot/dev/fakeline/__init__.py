"""An in-memory stand-in for the LINE Messaging API (a development tool: the tests, the benchmarks
and the local simulator; production talks to LINE).

The real SDK is pointed at it with ``Configuration(host=BASE_URL, access_token=...)``; every
call, content downloads included, then goes to ``BASE_URL + "/v2/bot/..."``. It answers with
LINE's status codes and error bodies (``{"message": ..., "details": [...]}``) and records every
request and every delivered message, so tests, benchmarks and the local simulator can see what
the bot sent.

Behaviour follows LINE's documentation (see ../shared/reference/line-platform.md, section 3):
reply tokens are single-use and expire, ``X-Line-Retry-Key`` is accepted on push only and a key
seen before gives 409, the loading animation takes 5..60 s in steps of 5, content can still be
"preparing" (202), unknown (404) or unsent (410). Content is any message's: a photo, or a voice
message's m4a (``put_content(message_id, data, "audio/m4a")``), served with its own type.
"""

from bot.dev.fakeline.api import BOT_NAME, BOT_USER_ID, create_fake_line_blueprint
from bot.dev.fakeline.server import FakeLineServer, create_fake_line_app
from bot.dev.fakeline.store import DEFAULT_DISPLAY_NAME, FakeLineStore, LineApiError, RecordedRequest
from bot.dev.fakeline.validation import validate_messages

__all__ = ["BOT_NAME", "BOT_USER_ID", "DEFAULT_DISPLAY_NAME", "FakeLineServer", "FakeLineStore", "LineApiError",
           "RecordedRequest", "create_fake_line_app", "create_fake_line_blueprint", "validate_messages"]

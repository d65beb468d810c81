"""The extension points conversations are built on: messages per conversation, actions,
Flex and quoted messages as the SDK sends them."""
from __future__ import annotations

import pytest
from linebot.v3.messaging import FlexMessage, TextMessage

from services import actions, knowledge
from services.line import to_sdk
from services.messages import Text, postback

BUBBLE = {"type": "bubble", "body": {"type": "box", "layout": "vertical",
                                     "contents": [{"type": "text", "text": "案件 {ref}", "wrap": True}]}}


def test_flex_and_quote_survive_the_outbox_and_reach_the_sdk():
    stored = [Text("結果 {ref}", (postback("請回電", "flow=welfare&step=callback"),), flex=BUBBLE).to_dict(),
              Text("收到", quote_token="q-1").to_dict()]
    texts = [Text.from_dict(d).fill(ref="W-20261127-0001") for d in stored]
    flex, plain = to_sdk(texts)
    assert isinstance(flex, FlexMessage) and isinstance(plain, TextMessage)
    assert flex.alt_text == "結果 W-20261127-0001"
    assert flex.contents.to_dict()["body"]["contents"][0]["text"] == "案件 W-20261127-0001"
    assert flex.quick_reply is None  # quick replies go on the last message only
    assert plain.quote_token == "q-1"


def test_more_than_five_messages_never_merge_a_flex_message():
    texts = [Text(str(i)) for i in range(4)] + [Text("flex", flex=BUBBLE), Text("tail")]
    out = to_sdk(texts)
    assert len(out) == 5 and isinstance(out[4], FlexMessage)
    merged = to_sdk([Text(str(i)) for i in range(7)])
    assert len(merged) == 5 and merged[4].text == "4\n\n5\n\n6"


def test_actions_are_only_functions_of_services_modules():
    assert actions.resolve("services.knowledge:t") is knowledge.t
    for bad in ("os:system", "services.knowledge", "services.knowledge:_contact_vars", "bot.cli:cli"):
        with pytest.raises(ValueError):
            actions.resolve(bad)


def test_conversation_message_files_merge_and_may_not_redefine_keys(tmp_path, monkeypatch):
    (tmp_path / "messages" / "zh-TW").mkdir(parents=True)
    (tmp_path / "messages" / "zh-TW.yaml").write_text("common: {hello: 您好}\n", encoding="utf-8")
    (tmp_path / "messages" / "zh-TW" / "extra.yaml").write_text("extra: {bye: 再見}\n", encoding="utf-8")
    monkeypatch.setattr(knowledge, "KNOWLEDGE_DIR", tmp_path)
    knowledge.load.cache_clear()
    knowledge.messages.cache_clear()
    try:
        assert knowledge.messages() == {"common": {"hello": "您好"}, "extra": {"bye": "再見"}}
        (tmp_path / "messages" / "zh-TW" / "clash.yaml").write_text("common: {x: y}\n", encoding="utf-8")
        knowledge.load.cache_clear()
        knowledge.messages.cache_clear()
        with pytest.raises(ValueError, match="common"):
            knowledge.messages()
    finally:
        monkeypatch.undo()
        knowledge.load.cache_clear()
        knowledge.messages.cache_clear()

"""Safety first: anyone trapped, hurt, collapsed, unresponsive, bleeding, not breathing, or with water or
mud coming into the house gets 119 first, before any other number or question (issue 12).

- the message-level detector (services/safety.py) on danger messages written the way residents write
  them (Taiwanese Mandarin, simplified characters, no punctuation) and on near-misses that must not
  bring an ambulance notice;
- the router (``route --json``'s ``understand``) and the webhook: a danger message's first reply
  names 119 first; a near-miss gets no safety line;
- the ``knowledge check`` rule: a resident text that speaks of danger names 119 before any other
  number; it fails on a bad text and passes on the real knowledge/.
"""
from __future__ import annotations

import pytest

from bot.cli import understand
from services import knowledge, safety
from services.knowledge import t
from tests.helpers import Resident, group_id, group_text_event

# -- messages -----------------------------------------------------------------------------------------

DANGER = [
    # water or mud coming into the house
    "水淹進來了 家裡都是水",
    "水淹到家裡了",
    "淹進客廳了怎麼辦",
    "阮兜淹水 水一直灌進來",
    "水一直从门口涌进来",                          # simplified
    "一樓淹水了 阿嬤還在裡面",
    "土石流沖進房子",
    "後山崩下來壓到房子 裡面有人",
    "泥巴衝進屋子裡 出不去",
    "土石流衝進住家了",
    # trapped
    "有人被困在車裡",
    "阿伯被困在工寮 水一直漲",
    "房子倒了 阿公被壓住",
    "救命 我們被困在二樓",
    "土石流有人被埋",
    # collapsed, not waking, not breathing
    "阿嬤昏倒了叫不醒",
    "阿公倒在地上沒反應",
    "我爸突然昏過去了",
    "阮阿公叫攏叫不醒啦",
    "阿公躺在床上叫不太醒",                        # 叫不太醒: half-woken is not awake
    "我媽暈倒在浴室",
    "我爸喘不過氣",
    "阿嬤呼吸困難 嘴唇發紫",
    "我老公沒有呼吸了",
    "阿公吃飯噎到 臉都紫了",
    "小孩一直抽搐",
    # bleeding, hurt
    "我媽跌倒頭在流血",
    "阿嬤從樓梯摔下來 爬不起來",
    "我爸切到手 血流不止",
    "屋頂被吹走了 我爸受傷",
    "鐵皮屋頂掀掉 阿公被砸傷",
    "有人被車撞",
    "我阿公騎車被車撞 倒在路邊",
    "电线掉下来有人被电到",                        # simplified
    "阿伯被蛇咬",
    "阿公喝農藥",
    # the water
    "小孩掉進水溝",
    "小孩掉進大水溝",  # 大水溝 is folded to 大排水溝 by the NLU typo map
    "阿公跌進排水溝 爬不起來",
    "孫子掉到水圳裡了",
    "阿嬤掉到魚塭",
    "阿公掉到溪裡了",
    "有人被水沖走",
    # fire and gas
    "火災",
    "隔壁失火了",
    "廚房燒起來了",
    "家裡有瓦斯味",
    "瓦斯外洩",
    "快點 阮厝起火",
    # after the fever went down (dengue's warning)
    "退燒後牙齦流血，很想睡",
    "登革熱燒退了 一直吐",
    # Taiwanese and everyday words for the same states (knowledge/safety.yaml, 2026-12 vocabulary)
    "阮阿公倒佇灶跤 叫攏袂醒",
    "我爸突然嘴歪眼斜 講話不清楚",
    "阿伯在田裡噴藥 口吐白沫",
    "颱風天我媽去收衣服 摸到電線 現在躺在地上",
    "隔壁獨居的阿嬤 敲門都沒反應 三天沒看到她",
    "車子翻車掉到邊坡下 人還在車上",
    "土石流來了 快來",
    "水淹到腰了 阿公走不動",
    "我哥從屋頂摔下來 腳好像斷了",
    "大樹壓到車子 裡面好像有人",
    "我兒子的腳卡進排水溝的縫 拔不出來",
]

NEAR_MISS = [
    "水溝蓋掉到水溝裡",
    "手機掉到水溝",
    "我家前面大水溝堵住了",
    "坑洞 差點跌倒",
    "南168線有一個大坑洞",
    "路燈壞了很危險",
    "水溝蓋破了很危險",
    "上次淹水的補助",
    "淹水補助怎麼申請",
    "土石流警戒區在哪",
    "沒有人受傷",
    "邊坡滑落 無人受傷",
    "問受傷的補助",
    "車禍受傷不能工作，可以申請急難救助嗎",
    "我先生中風，家裡沒收入了，有什麼可以幫忙的",
    "路被沖走了",
    "溪水暴漲，橋快要被沖走",
    "樹倒了擋住路",
    "電線掉下來",
    "家裡的狗被車撞",
    "轉角的反光鏡被車撞歪",
    "水沒有淹進來 還好",
    "萬一水淹進來怎麼辦",
    "去年淹進客廳 今年會不會再淹",
    "今天熱到快昏倒",
    "工作壓力大到喘不過氣",
    "我報修路燈都沒有反應",
    "流鼻血要看哪一科",
    "退燒藥可以吃幾顆",
    "颱風要怎麼預防淹水",
    "火災保險怎麼申請",
    "阿公騎車在二寮那邊跌倒，就是路上那個凹洞害的，你們可以趕快去填起來嗎",
    "人孔蓋不見了",
    "不危險",
    "水溝被樹枝卡住",
    "我爸中風好幾年了 可以申請什麼",
    "水溝蓋破一個洞 小孩可能會卡進去",
    "阿嬤骨折三個月了 有看護補助嗎",
    "車子卡在泥巴裡 可以請人拖嗎",
]

SAFETY_TEXTS = ("line", "house", "medical", "water", "fire", "gas")


def first_phone(text: str) -> str | None:
    return safety.first_phone(text)


def _first_reply(text: str) -> str:
    from handlers.flow import Incoming
    from handlers.router import route
    from handlers.flow import EmptyContext
    inc = Incoming(kind="text", text=text, event_id="t", user_id="U" + "1" * 32, chat_id="U" + "1" * 32)
    out = route(None, inc, EmptyContext(), 0.0 + 1_800_000_000)
    return out.replies[0].text if out.replies else ""


@pytest.mark.parametrize("message", DANGER)
def test_a_danger_message_gets_119_first(message):
    reply = understand(message)["reply"]
    assert first_phone(reply) == "119", reply
    assert first_phone(_first_reply(message)) == "119"


@pytest.mark.parametrize("message", [m for m in DANGER if "退燒" not in m and "燒退" not in m])
def test_the_detector_sees_every_danger_message(message):
    assert safety.assess(message) is not None


@pytest.mark.parametrize("message", NEAR_MISS)
def test_a_near_miss_gets_no_safety_notice(message):
    assert safety.assess(message) is None
    reply = understand(message)["reply"]
    for key in SAFETY_TEXTS:
        assert t(f"safety.{key}") not in reply


@pytest.mark.parametrize("message", ["坑洞 差點跌倒", "南168線有一個大坑洞", "路燈壞了很危險", "水溝蓋破了很危險",
                                     "人孔蓋不見了", "我報修路燈都沒有反應"])
def test_an_elder_reporting_a_road_problem_gets_no_ambulance_notice(message):
    first = _first_reply(message)
    assert "119" not in first and "救護" not in first


def test_the_lists_are_large_enough():
    assert len(DANGER) >= 40 and len(NEAR_MISS) >= 25


@pytest.mark.parametrize("message", ["我家前面的樹倒在地上", "路樹倒在地上擋住路", "颱風把招牌吹倒在地上"])
def test_a_thing_on_the_ground_is_a_report_not_an_ambulance(message):
    """倒在地上 is a person's collapse only with a person named near it."""
    out = understand(message)
    assert out["intent"] in ("road_report", "disaster_report")
    assert t("welfare.emergency.call", fire="119") not in out["reply"]


@pytest.mark.parametrize("message", ["阿公倒在地上", "我媽倒在地上起不來", "阿嬤從床上摔下來"])
def test_a_person_on_the_ground_gets_119_first(message):
    assert first_phone(understand(message)["reply"]) == "119"


# -- what each kind of danger gets -------------------------------------------------------------------

def test_the_five_messages_of_the_issue():
    for message in ("水淹進來了 家裡都是水", "土石流沖進房子 有人被困", "阿嬤昏倒了叫不醒", "屋頂被吹走了 我爸受傷",
                    "退燒後牙齦流血，很想睡"):
        assert first_phone(understand(message)["reply"]) == "119", message


def test_water_in_the_house_starts_the_disaster_report_after_119():
    got = understand("水淹進來了 家裡都是水")
    assert got["reply"].startswith(t("safety.house"))
    assert "現場有人受困或受傷嗎" in got["reply"]                       # then the report's first question


def test_a_roof_blown_off_with_someone_hurt_starts_the_report_with_119():
    reply = understand("屋頂被吹走了 我爸受傷")["reply"]
    assert reply.startswith(t("disaster.danger")) and "幾個人受傷" in reply
    assert reply.count(t("disaster.danger")) == 1                        # 119 is not said twice


def test_a_collapse_gets_the_safety_answer_not_the_dengue_one():
    reply = understand("阿嬤昏倒了叫不醒")["reply"]
    assert reply.startswith(t("safety.medical"))
    assert "T.O.C.C." not in reply and "登革熱" not in reply
    for word in ("您得了", "中風了", "心臟病", "可能是"):                   # no diagnosis
        assert word not in reply


def test_with_a_fever_dengue_answers_the_warning_sign():
    reply = understand("小孩發燒叫不醒")["reply"]
    assert "急診" in reply.splitlines()[0] and first_phone(reply) == "119"


def test_water_fire_and_gas_get_their_own_answers():
    assert understand("小孩掉進水溝")["reply"].startswith(t("safety.water"))
    assert understand("隔壁失火了")["reply"].startswith(t("safety.fire"))
    assert understand("家裡有瓦斯味")["reply"].startswith(t("safety.gas"))


def test_a_report_about_a_road_with_someone_hurt_stays_a_report_with_119_first():
    reply = understand("樹倒了擋住路，有人摔車流血")["reply"]
    assert first_phone(reply) == "119" and "地點" in reply


def test_the_net_prefixes_one_line_and_does_not_repeat_119():
    from handlers import safety as net
    from handlers.flow import Incoming, Outcome
    from services.messages import Text
    inc = Incoming(kind="text", text="我爸受傷了", event_id="t", user_id="U1", chat_id="U1")
    out = net.first_119(inc, Outcome(replies=(Text("不好意思，請打區公所 06-5731611。"),)))
    assert out.replies[0].text == t("safety.line") and len(out.replies) == 2
    already = Outcome(replies=(Text("⚠️ 請打 119。其他請打 1999。"),))
    assert net.first_119(inc, already) is already
    silent = Outcome(replies=())
    assert net.first_119(inc, silent) is silent
    calm = Incoming(kind="text", text="路燈壞了", event_id="t", user_id="U1", chat_id="U1")
    plain = Outcome(replies=(Text("請打 1999。"),))
    assert net.first_119(calm, plain) is plain
    five = Outcome(replies=tuple(Text(f"第{i}則") for i in range(5)))
    merged = net.first_119(inc, five)
    assert len(merged.replies) == 5 and merged.replies[0].text.startswith(t("safety.line"))


def test_a_services_answer_to_a_call_for_help_becomes_119s_with_the_service_as_a_button():
    from handlers import safety as net
    from handlers.flow import Incoming, Outcome
    from services.messages import Text
    inc = Incoming(kind="text", text="工人從鐵皮屋頂摔下來 叫不醒", event_id="t", user_id="U1", chat_id="U1")
    answer = Outcome(replies=(Text("發現違章建築，可以向區公所檢舉。"),), rule="question.faq",
                     meta={"intent": "faq", "topic": "agri.illegal_building", "confidence": 1.0})
    out = net.first_119(inc, answer)
    assert len(out.replies) == 1 and out.replies[0].text == t("safety.heard")
    assert out.meta["intent"] == "human"
    items = out.replies[0].quick_replies
    assert items[0].uri == "tel:119" and items[1].data == "faq=agri.illegal_building"
    # A calm message keeps its answer; an answer that starts with 119 is left as it is.
    calm = Incoming(kind="text", text="違章建築怎麼檢舉", event_id="t", user_id="U1", chat_id="U1")
    assert net.first_119(calm, answer) is answer
    # A conversation's step keeps its question under the 119 line, whatever the words' label.
    step = Outcome(replies=(Text("請問家裡有幾個人？"),), rule="active.step",
                   meta={"intent": "faq", "topic": "agri.illegal_building", "confidence": 1.0})
    kept = net.first_119(inc, step)
    assert kept.replies[0].text == t("safety.line") and kept.replies[1].text == "請問家裡有幾個人？"


# -- through the webhook ---------------------------------------------------------------------------

def test_danger_through_the_webhook_gets_119_first_and_a_call_button(resident):
    out = resident.says("阿公倒在地上沒反應")
    assert first_phone(out[0]) == "119"
    assert resident.button("打 119")["action"]["uri"] == "tel:119"
    out = resident.says("水淹進來了 家裡都是水")
    assert first_phone(out[0]) == "119" and "受困或受傷" in out[-1]


def test_danger_inside_a_road_report_gets_119_and_the_report_is_kept(resident):
    r = resident
    r.says("路燈壞了")
    r.says("台20線往玉井的彎道旁邊")
    out = r.says("我媽跌倒頭在流血")
    assert first_phone(out[0]) == "119"
    assert {"打 119", "繼續剛才的"} <= set(r.labels())
    out = r.taps("繼續剛才的")
    assert "哪一個里" in out[-1]


def test_water_in_the_house_inside_another_report_offers_the_disaster_report(resident):
    r = resident
    r.says("路燈壞了")
    out = r.says("土石流沖進房子了")
    assert first_phone(out[0]) == "119" and "通報災情" in r.labels()


def test_a_collapse_inside_a_disaster_report_gets_the_first_aid_answer_not_dengue(resident):
    """In a disaster report someone collapsing is not a dengue sign: 119 and what to do while waiting."""
    r = resident
    r.says("屋頂被吹走了 我爸受傷")
    out = r.says("阮阿公倒在浴室叫不醒")
    assert first_phone(out[0]) == "119"
    assert not any("T.O.C.C." in text or "1922" in text for text in out)
    assert "繼續剛才的" in r.labels()


def test_a_pothole_through_the_webhook_gets_no_ambulance_notice(resident):
    out = resident.says("坑洞 差點跌倒")
    assert "119" not in "\n".join(out)


def test_in_a_group_the_bot_is_quiet_unless_mentioned(app, fake_line):
    member = Resident(app, fake_line.store)
    group = group_id()

    def said_in_group() -> list[str]:
        return [m["message"].get("text", "") for m in fake_line.store.sent() if m.get("to") == group]

    member.deliver(group_text_event(member.user, group, "阿嬤昏倒了叫不醒", mention=False))
    assert said_in_group() == []
    member.deliver(group_text_event(member.user, group, "阿嬤昏倒了叫不醒"))
    out = said_in_group()
    assert out and first_phone(out[0]) == "119"


# -- the knowledge check -------------------------------------------------------------------------------

BAD = [
    "・淹水有立即危險，請先到安全的地方，並打臺南市民服務專線 {tainan_1999}。",
    "有立即危險請打臺南市民服務專線 {tainan_1999}，或區公所 {office_phone}。",
    "⚠️ 請遠離坍方；有危險請打 {tainan_1999} 或區公所 {office_phone}。",
    "・看到獨居長輩身體不舒服或生活有危險，請打 1957 或 {tainan_1999} 通報。",
    "阿公昏倒了，請打區公所 06-5731611，或 119。",
    "有人受困：\n・1999\n・119",
]
GOOD = [
    "⚠️ 有人受困、受傷或有生命危險，請馬上打 119（消防、救護）！\n・臺南市民服務專線 1999",
    "⚠️ 如果有危險（路被擋住、有人受傷），請先打電話：\n・119（消防、救護）\n・1999",
    "遇到家庭暴力請打 113 保護專線。\n有立即危險，請先打 110。",
    "路燈壞了請打 1999 或區公所 {office_phone}。",                        # no danger: any number
    "沒有危險的話，請打區公所 {office_phone}。",                            # denied
    "現場有人受困或受傷嗎？",                                              # danger, no number
    "・例如：重病或意外受傷、失業。\n請打區公所 {office_phone}。",          # a hardship, not a call
    "113年起補助增加，危險時請打 119。",                                     # 113年 is a year
]


@pytest.mark.parametrize("text", BAD)
def test_the_rule_finds_a_danger_text_without_119_first(text):
    assert safety.text_problem(text)


@pytest.mark.parametrize("text", GOOD)
def test_the_rule_leaves_right_and_calm_texts_alone(text):
    assert safety.text_problem(text) is None


def test_knowledge_check_fails_on_a_bad_text_and_passes_on_the_real_knowledge(monkeypatch):
    assert knowledge.danger_means_119_first() == []
    assert not [p for p in knowledge.check() if "before 119" in p]
    real = safety.resident_texts

    def with_a_bad_one():
        yield from real()
        yield "faq/agri_build.yaml agri.pump_loan", BAD[0]

    monkeypatch.setattr(safety, "resident_texts", with_a_bad_one)
    problems = [p for p in knowledge.check() if "before 119" in p]
    assert problems == ["faq/agri_build.yaml agri.pump_loan: speaks of danger but names {tainan_1999} before 119: "
                        + BAD[0][:40]]


def test_every_kind_of_resident_text_is_checked():
    wheres = [w for w, _ in safety.resident_texts()]
    assert any(w.startswith("messages disaster.notice.hazard") for w in wheres)
    assert any(w.startswith("faq/social.yaml social.seniors_alone") for w in wheres)
    assert any(w.startswith("welfare/") for w in wheres)
    assert any(w.startswith("dengue.yaml") for w in wheres) and any(w.startswith("disaster.yaml") for w in wheres)
    assert not any(".source" in w or ".claim" in w for w in wheres)


def test_the_fixed_answers_name_119_first():
    from services import faq
    for entry_id in ("agri.pump_loan", "agri.river_levee", "agri.street_trees", "social.seniors_alone",
                     "office.welfare_1957", "office.public_works"):
        entry = faq.base().get(entry_id)
        assert safety.text_problem(entry.answer) is None, entry_id
        if entry_id != "office.welfare_1957":                      # the 1957 line's own answer names 1957 first
            assert first_phone(entry.text()) == "119", entry_id
    assert "倒下、叫不醒或受傷，請先打 119" in faq.base().get("office.welfare_1957").text()
    assert first_phone(t("disaster.notice.hazard", taipower="1911")) == "119"
    assert first_phone(t("disaster.place.outside")) == "119"


# -- dengue: warning signs often come as the fever falls -------------------------------------------------

@pytest.mark.parametrize("message", [
    "退燒後牙齦流血，很想睡",
    "燒退了但是一直吐",
    "登革熱燒退了",
    "阮阿公燒退了 全身紅疹",
    "不燒了 可是肚子很痛",
    "烧退了 牙龈出血",                                   # simplified
    "燒剛退 昏昏沉沉的",
])
def test_a_fever_going_down_with_dengue_or_its_signs_is_a_warning(message):
    from services import dengue
    assert dengue.symptom_level(message) == "warning"
    reply = understand(message)["reply"]
    assert "急診" in reply.splitlines()[0] and first_phone(reply) == "119"


@pytest.mark.parametrize("message", ["退燒藥可以吃幾顆", "小孩感冒燒退了", "沒有發燒，只是頭有點痛"])
def test_a_fever_going_down_alone_or_a_medicine_is_no_warning(message):
    from services import dengue
    assert dengue.symptom_level(message) is None


def test_the_fever_advice_says_to_watch_as_the_fever_falls():
    assert "燒退了也要小心" in t("dengue.symptoms.watch")


@pytest.mark.parametrize("text", ["阿伯倒在路邊沒有反應", "路口有人被車撞 倒在地上不動"])
def test_someone_collapsed_on_a_road_gets_the_ambulance_answer_not_the_road_report(text):
    got = understand(text)
    assert got["rule"] == "urgent.safety"
    assert got["reply"].splitlines()[0] == knowledge.t("safety.medical").splitlines()[0]


def test_someone_fainted_by_a_drain_still_hears_119_first():
    assert first_phone(understand("阿嬤在水溝旁邊昏倒了")["reply"]) == "119"


@pytest.mark.parametrize("text", ["廟口那個招牌壞了很久", "路口那支柱子歪好幾個月了 都沒人管"])
def test_a_thing_broken_for_long_is_no_emergency_for_the_model(text):
    assert safety.model_text(text) is None and not safety.alarm(text)


def test_long_next_to_someone_unresponsive_is_still_danger():
    assert safety.alarm("阿伯坐在廟口頭垂下去很久了 叫他都沒反應")


# -- danger in a disaster, a wire sparking, someone locked in (the ninth round) ------------------------

@pytest.mark.parametrize("text", [
    "屋頂被吹走 我媽頭被打到在流血",                                   # 被打到 by the roof, not by a person
    "草山那條路坍方 上面的人下不來 下面的上不去",                        # cut off by a landslide
    "雨太大了 溪水快淹到橋面 附近有些老人家走不動",
    "颱風還在吹 阿伯被倒下來的竹子打到 頭一直流血",
])
def test_someone_hurt_or_cut_off_in_a_disaster_gets_119_then_the_disaster_report(text):
    got = understand(text)
    assert first_phone(got["reply"]) == "119", got["reply"]
    assert got["intent"] == "disaster_report"
    assert not got["reply"].startswith(t("safety.violence")) and "搶刀" not in got["reply"]  # no attacker
    assert not got["reply"].startswith(t("safety.medical"))              # not first aid for a collapse


def test_a_storm_only_named_leaves_a_collapse_to_the_ambulance():
    got = understand("颱風天阿公在家昏倒叫不醒")
    assert got["reply"].startswith(t("safety.medical")) and got["intent"] == "human"
    assert "T.O.C.C." not in got["reply"]


def test_a_power_line_sparking_is_the_disaster_report_not_a_house_fire():
    got = understand("電線被樹壓斷掉在路上 還在冒火花")
    assert first_phone(got["reply"]) == "119" and got["intent"] == "disaster_report"
    assert not got["reply"].startswith(t("safety.fire"))
    assert understand("電線走火 房子燒起來了")["reply"].startswith(t("safety.fire"))


@pytest.mark.parametrize("text", ["兩歲的卡在洗衣機裡面 門打不開", "小孩被反鎖在車裡 外面好熱"])
def test_someone_locked_in_with_no_disaster_gets_119_not_a_disaster_report(text):
    got = understand(text)
    assert got["reply"].startswith(t("safety.trapped")) and got["intent"] == "human"
    assert "災情" not in got["reply"]


@pytest.mark.parametrize("text", ["菜園旁邊有人丟一台舊洗衣機 裡面積水",
                                  "中正里有一間沒人住的老厝 屋頂塌一半 裡面的缸都裝滿雨水 孑孓在游"])
def test_an_empty_thing_or_house_is_no_emergency(text):
    got = understand(text)
    assert first_phone(got["reply"]) != "119" and got["intent"] == "dengue_report", got


def test_water_coming_into_a_house_is_labelled_as_the_disaster_report_it_starts():
    got = understand("山上的水一直往下沖 泥巴水跑進房子 一樓淹了十幾公分 還在漲 人都躲在二樓")
    assert got["reply"].startswith(t("safety.house")) and got["intent"] == "disaster_report"


@pytest.mark.parametrize("text", ["想問急難救助怎麼申請 我真的撐不下去了 今天就想結束 家裡有一瓶農藥",
                                  "活著好累 真的不想活了", "工作沒了又欠一堆錢 有時候真的不想活了"])
def test_wanting_to_die_gets_the_1925_answer_with_119_first_whatever_else_is_asked(text):
    from services import faq
    got = understand(text)
    assert got["reply"].startswith(faq.base().get("office.mental_1925").text())
    assert first_phone(got["reply"]) == "119" and got["topic"] == "office.mental_1925"
    assert "急難救助" not in got["reply"]


@pytest.mark.parametrize("text", ["跳樓大拍賣 全面五折", "想死你了 什麼時候回來"])
def test_an_idiom_of_dying_is_no_emergency(text):
    assert safety.assess(text) is None


@pytest.mark.parametrize("text", ["貢丸卡住 抓脖子", "阿嬤早上起床就站不穩 一直往左邊倒 講話含含糊糊",
                                  "阿公掉進魚塭 到現在還沒浮上來"])
def test_more_ways_of_saying_danger_get_119_first(text):
    assert safety.assess(text) is not None
    assert first_phone(understand(text)["reply"]) == "119"


@pytest.mark.parametrize("text", ["我媽一個人住 從昨晚打電話都沒接 平常一定會接", "外婆電話都不接 line也沒讀 她一個人住",
                                  "阿嬤一个人蹛 叫門攏無人應"])
def test_an_elder_who_answers_no_call_or_door_gets_119_first(text):
    assert first_phone(understand(text)["reply"]) == "119"


@pytest.mark.parametrize("text", ["公所電話都不接 到底有沒有人上班", "我傳的訊息你們都沒讀嗎"])
def test_the_office_not_answering_is_no_emergency(text):
    assert safety.assess(text) is None


@pytest.mark.parametrize("text", ["阿公規身軀咧掣 目睭吊白仁 以前毋捌按呢", "婆婆吃粿 噎住 不能說話", "熱水壺打翻 孫子的手燙紅 起水泡",
                                  "公車站牌那邊有個老人倒地", "我老公 喝酒 打我 拿刀", "車子自動上鎖 寶寶在安全座椅上滿頭大汗",
                                  "廚房 瓦斯 很臭 小孩頭暈"])
def test_the_fifth_danger_sets_missed_phrasings_get_119_first(text):
    assert safety.assess(text) is not None
    assert first_phone(understand(text)["reply"]) == "119"


@pytest.mark.parametrize("text", ["外孫仔跋落去魚池", "鐵牛仔翻過去 壓著人", "阿母婚倒 叫不起來", "grandma passed out 快幫忙",
                                  "伊講心肝頭艱苦 冷汗直流", "阿伯安眠藥吃一整排 叫不太醒", "工人碰到高壓電 掉下來",
                                  "他在打我 我躲在廁所", "土石流 house buried 裡面有人"])
def test_the_sixth_danger_sets_missed_phrasings_get_119_first(text):
    assert safety.assess(text) is not None
    assert first_phone(understand(text)["reply"]) == "119"


@pytest.mark.parametrize("text", ["廢棄魚池好多蚊子", "這裡很多蚊子 咬 小孩", "活動中心的AED在哪裡 想去上課"])
def test_words_near_the_sixth_sets_are_no_emergency(text):
    assert safety.assess(text) is None


@pytest.mark.parametrize("text", ["阿公失智 走失了 找了一個下午", "孫仔揣無 四歲", "小孩不見了 在市場"])
def test_someone_missing_now_gets_119_or_110_first_and_what_to_tell_them(text):
    got = understand(text)
    assert safety.assess(text).kind == "missing"
    assert first_phone(got["reply"]) == "119" and "110" in got["reply"] and "穿什麼衣服" in got["reply"]


@pytest.mark.parametrize("text", ["阿嬤的手機不見了", "失智老人走失怎麼預防 有手鍊可以申請嗎", "阿公以前走失過 想申請愛心手鍊"])
def test_something_lost_or_a_past_or_asked_about_wandering_is_no_missing_person(text):
    danger = safety.assess(text)
    assert danger is None or danger.kind != "missing"


def test_a_repair_not_answered_is_a_complaint_not_a_person_unresponsive():
    assert understand("我報修路燈都沒有反應")["intent"] == "case_status"
    got = understand("我要通報 路邊有人倒著都沒有反應")
    assert first_phone(got["reply"]) == "119"


def test_someone_shut_in_by_a_landslide_who_asks_to_be_rescued_gets_119_and_the_report():
    got = understand("阿母一個人住山頂 後壁崩山 門予土堵住 伊驚甲 拜託誰會當先去救她")
    assert first_phone(got["reply"]) == "119" and got["intent"] == "disaster_report"


@pytest.mark.parametrize("text", ["龜殼花咬到我兒子的腳", "我媽被鐮刀割到 壓了好久血還是止不住",
                                  "颱風停電 阿公的呼吸器快沒電了", "地震 阿公被衣櫃壓住"])
def test_the_seventh_danger_sets_words(text):
    """Words the seventh danger set's part to learn from showed missing: the hills' venomous snakes by
    name, bleeding that will not stop, a breathing machine without power, someone pinned."""
    assert safety.assess(text) is not None


@pytest.mark.parametrize("text", ["qwertyuiop", "asdfghjkl", "thank you so much", "okokok"])
def test_a_keyboard_mash_or_plain_english_never_sounds_like_danger(text):
    # At 2**18 buckets the letters of 「qwertyuiop」 shared the weights of danger's n-grams (0.9998);
    # the linear models now hash into 2**24 and read no Latin letter alone (services/nlu_linear.py).
    assert not safety.alarm(text)
    assert "119" not in understand(text)["reply"]


def test_a_fallen_power_pole_is_no_danger_to_the_words_and_gets_taipowers_number():
    # Since the linear classifier of the labels joined the votes (2026-12-06), a pole fallen into a
    # field is understood as storm damage, like the chiefs' reports it resembles: the disaster report,
    # whose answer leads with the conditional 119 line and gives Taipower's 1911. The safety words still
    # find no danger in it (it was a near-miss above, when it was a road report).
    text = "路邊的電線桿翻覆在田裡"
    assert safety.assess(text) is None
    got = understand(text)
    assert got["intent"] == "disaster_report" and "1911" in got["reply"]

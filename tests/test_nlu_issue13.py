"""Issue 13, item 3: the failure kinds of residents' messages (how to report X, a story told as a
report, complaints about an earlier report, a death never starting the screener, money after a
fire, other sections' 補助, other agencies' business). The messages to tune on are in
tests/nlu/issue13-tuned.jsonl (also in utterances.jsonl); tests/nlu/issue13-setaside.jsonl is
scored only to report, never tuned on, and is not asserted here."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import understand
from services import nlu
from services.nlu_complaint import complaint
from tests.helpers import ZUOZHEN_LI

TUNED = [json.loads(line) for line in (Path(__file__).parent / "nlu" / "issue13-tuned.jsonl").open(encoding="utf-8")]
SCREENER = "可以申請哪些福利補助"


@pytest.mark.parametrize("case", TUNED, ids=[c["text"] for c in TUNED])
def test_tuned_message(case):
    got = understand(case["text"])
    want = case["intent"] if isinstance(case["intent"], list) else [case["intent"]]
    assert got["intent"] in want, got
    for word in case.get("mention") or ():
        assert word in got["reply"], got


@pytest.mark.parametrize("text", ["我爸過世了 喪葬補助怎麼申請", "繼承要辦什麼", "我媽往生了 她的老人津貼要怎麼辦",
                                  "阿公走了 家裡沒錢 可以申請什麼", "爸爸過世，喪葬費付不出來",
                                  "我是外配，老公過世了，有什麼幫助"])
def test_a_death_never_starts_the_screener(text):
    assert nlu.classify(text).label != "welfare"
    assert SCREENER not in understand(text)["reply"]


def test_the_deceased_guard_needs_a_person_before_died():
    assert nlu.deceased(nlu.normalize("我爸死了"))
    assert not nlu.deceased(nlu.normalize("水溝臭死了"))


def test_money_after_a_fire_is_relief_but_a_fire_now_is_119():
    relief = understand("火災後有慰問金嗎")
    assert relief["topic"] == "social.emergency_aid" and "119" not in relief["reply"].split("\n")[0]
    assert understand("失火了")["reply"].lstrip("⚠️ ").find("119") < 30


@pytest.mark.parametrize("text,label", [("請問路上的坑洞要怎麼報修", "road_report"),
                                        ("違章建築怎麼檢舉", "faq"),      # 檢舉 alone reports nothing
                                        ("有人在買票，要怎麼檢舉", "faq"),
                                        ("光和里活動中心旁邊的水溝塞住了，一下雨就滿出來", "road_report")])
def test_how_to_report_starts_the_report_of_what_is_named(text, label):
    assert nlu.classify(text).label == label


# -- a clarifying offer instead of 「不太懂」 for a problem told (services.nlu.report_hint) ---------

def _route(text):
    from bot.cli import _route_text
    return _route_text(text)


# Something broken, nothing more to go on. (「那邊有一個東西歪掉」 was offered until the fifteenth round's
# examples, which start its report at once: the offer is for what the votes are unsure of.)
@pytest.mark.parametrize("text,flow", [("那裡有東西斷掉", "road")])
def test_a_problem_not_understood_is_offered_as_a_report(text, flow):
    got, out = _route(text)
    assert got["intent"] in ("unknown", "faq")
    first = out.replies[0]
    assert "通報" in first.text and "不太懂" not in first.text and "不太確定" not in first.text
    button = first.quick_replies[0]
    assert button.kind == "message" and button.text.endswith(text)       # the resident's words go along
    assert nlu.classify(button.text).label == f"{flow}_report"
    assert out.question and out.question["text"] == text      # still kept for staff to improve the bot


@pytest.mark.parametrize("text", ["今天天氣好", "請問這是什麼", "我爸過世了 很難過"])
def test_no_report_offer_without_a_problem(text):
    _, out = _route(text)
    assert all(getattr(q, "data", "") not in ("flow=road", "flow=dengue", "flow=disaster")
               for q in out.replies[0].quick_replies[:1]) or "通報" not in out.replies[0].text


def test_something_leaning_is_a_road_report_at_once():
    # Since the sixth round's examples (and their votes weighing more), 「那個柱子歪掉了」 starts the
    # report at once (it was offered as one before).
    got, out = _route("那個柱子歪掉了")
    assert got["intent"] == "road_report" and "哪一種問題" in out.replies[0].text


def test_something_broken_by_a_landmark_for_long_starts_the_report():
    # Since the fourth round of examples, something broken next to a landmark for a long time is
    # understood as a road report (it was offered as one before): the report starts at its first step.
    got, out = _route("廟旁邊那個東西壞了很久")
    assert got["intent"] == "road_report" and "哪一種問題" in out.replies[0].text
    # Something broken with no place and no thing named (那邊有一個東西破掉) is offered the report: the
    # eleventh round's examples started it at once, the fourteenth round's chat (那邊有一個…) made the
    # learned votes unsure again, and since the fifteenth they lean to an entry they are unsure of
    # (faq, 0.45), whose answer is the same offer. Either way it is never 「不太懂」 and never an entry.
    got, out = _route("那邊有一個東西破掉")
    text = "\n".join(r.text for r in out.replies)
    if got["intent"] == "road_report":
        assert "哪一種問題" in text
    else:
        assert got["confidence"] < 0.5 and "通報問題" in text and "道路報修" in text
    assert "不太懂" not in text
    # Since the twelfth round (the linear classifier), so is a smell at the door for long.
    got, out = _route("我家門口那邊一直有怪味道 很久了")
    assert got["intent"] == "road_report" and "哪一種問題" in out.replies[-1].text


def test_the_offer_button_starts_the_report_with_the_words_already_said(resident):
    out = resident.says("那裡有東西斷掉")
    assert "通報" in out[-1]
    out = resident.taps(resident.labels()[0])
    assert "哪一種問題" in out[-1]
    resident.taps("路燈故障")
    resident.sends_location(*ZUOZHEN_LI)
    out = resident.taps("略過")
    assert "確認" in out[-1] and "那裡有東西斷掉" in out[-1]                # the words said first are the description


# -- rules added from the tune part's misses -----------------------------------------------------

@pytest.mark.parametrize("text,topic", [("選舉的工作人員要怎麼報名", "civil.poll_worker"),   # 的 inside the keyword
                                        ("身障證明掉了要補辦", "social.disability_renewal")])
def test_a_service_name_with_a_filler_inside_is_still_named(text, topic):
    intent = nlu.classify(text)
    assert (intent.label, intent.topic) == ("faq", topic)


def test_thanks_for_a_repair_done_is_a_thank_you():
    assert nlu.classify("路燈修好了 謝謝你們").label == "greeting"
    assert nlu.classify("路燈修好了沒").label == "case_status"


def test_a_complaint_about_an_earlier_report_wins_over_the_problem_it_names():
    assert nlu.classify("報修了兩個月 路燈還是不亮 晚上都不敢出門").label == "case_status"


@pytest.mark.parametrize("text", ["報修三個月了", "反映兩個禮拜了", "路燈還沒修", "反射鏡那件咧",
                                  "颱風前報的倒竹子還橫在路上欸", "里幹事有來拍照說要報修，請問現在怎麼樣了",
                                  # fifteenth round: 報 alone and the wait since
                                  "水溝報兩個禮拜了 都沒人來看", "竹仔倒佇路中央 報三工矣"])
def test_a_long_wait_since_a_report_or_a_repair_not_done_is_a_case_look_up(text):
    assert nlu.classify(text).label == "case_status"


@pytest.mark.parametrize("text,label", [("幫我報三天沒亮的路燈 在岡林國小前面", "road_report"),   # a report still to make
                                        ("我想報兩個月前就破掉的水溝蓋", "road_report"),
                                        ("氣象預報三天後颱風會來 沙包去哪裡領", "faq")])        # 預報 is no report
def test_report_and_a_number_of_days_is_no_complaint_when_the_report_is_still_to_make(text, label):
    assert not complaint(text)
    assert nlu.classify(text).label == label


@pytest.mark.parametrize("text", ["之前說一個禮拜會來清 已經兩個禮拜了", "我們里長說他有幫我們報 可是到現在還沒消息",
                                  "我有收到簡訊說已派工，但是都沒看到人", "怎麼還沒來"])
def test_a_promise_not_kept_is_a_case_look_up(text):
    assert nlu.classify(text).label == "case_status"


def test_a_power_cut_asked_when_it_will_be_fixed_is_not_a_case_of_ours():
    assert nlu.classify("從昨天晚上停電到現在 打台電都打不進去 什麼時候會來修").label != "case_status"


@pytest.mark.parametrize("text", ["路燈壞了", "我想報修路燈", "報修要怎麼報", "農路水泥裂開了 公所會修嗎"])
def test_a_new_problem_or_how_to_report_is_not_a_case_look_up(text):
    assert nlu.classify(text).label != "case_status"


@pytest.mark.parametrize("text", ["我爸87歲 耳朵不好 腳也不好 子女都在外地 政府有沒有什麼照顧",
                                  "阿嬤快90了 除了重陽禮金 還有什麼可以領"])
def test_what_else_or_what_care_an_elder_can_get_is_the_screener(text):
    assert nlu.classify(text).label == "welfare"


def test_moving_an_ancestors_grave_never_starts_the_screener():
    intent = nlu.classify("想把阿祖的墳遷走 要申請什麼")
    assert intent.label == "faq" and nlu.deceased(nlu.normalize("想把阿祖的墳遷走"))


@pytest.mark.parametrize("text", ["風還在吹 門口那棵大樹倒下來把路堵住了 車開不出去",
                                  "南178線 大樹倒下來壓在路中間 現在風還很大"])
def test_a_tree_across_the_road_while_the_wind_still_blows_is_the_disaster_report(text):
    assert nlu.classify(text).label == "disaster_report"


@pytest.mark.parametrize("text", ["有人把一大袋垃圾丟在光和里公車亭旁邊", "路邊有人亂丟垃圾 還有舊沙發",
                                  "公墓附近路邊有人丟了一台報廢機車", "路上有死狗", "路口地上的白線都看不到了 請重畫"])
def test_rubbish_dumped_by_a_road_a_dead_animal_or_a_worn_marking_is_a_report(text):
    assert nlu.classify(text).label == "road_report"


@pytest.mark.parametrize("text", ["工寮旁邊的塑膠布皺皺的積了水", "教會後面沒人用的水池 水綠綠的", "岡林 一片死水"])
def test_standing_water_described_without_the_word_dengue_is_a_breeding_site_report(text):
    assert nlu.classify(text).label == "dengue_report"


@pytest.mark.parametrize("text, topic", [("我們這排今晚都沒電 冷氣也停了", "office.power_cut"),
                                         ("電一直跳 一下有一下沒有", "office.power_cut"),
                                         ("老人搭車卡", "office.senior_card"), ("重要號碼", "office.hotlines")])
def test_a_service_asked_in_other_words_finds_its_entry(text, topic):
    intent = nlu.classify(text)
    assert (intent.label, intent.topic) == ("faq", topic)


def test_the_rubbish_trucks_times_are_still_the_faq():
    assert (nlu.classify("垃圾車幾點會來").label, nlu.classify("垃圾車幾點會來").topic) == ("faq", "office.garbage")


@pytest.mark.parametrize("text", ["我人在高雄上班 想反映台南老家的事 打1999會通嗎",
                                  "我們村的廟明年要建醮 會在路邊搭棚 我在台北幫廟裡處理文書 要先向哪些單位報備"])
def test_someone_living_elsewhere_asking_about_home_is_answered(text):
    assert nlu.classify(text).label == "faq"


def test_another_citys_own_matter_is_still_not_ours():
    assert nlu.classify("我住高雄 我家門口的路燈壞了").label == "unknown"


@pytest.mark.parametrize("text", ["要撤離的話去哪裡", "淹水救助金要怎麼申請"])
def test_a_question_about_a_disaster_service_is_not_a_disaster_report(text):
    assert nlu.classify(text).label == "faq"


@pytest.mark.parametrize("text", ["報了還沒", "說過了 到現在都沒", "修好了"])
def test_short_complaints_and_thanks_without_other_words_are_understood(text):
    # Regression: a message with only these words left no other label to compare with.
    assert nlu.classify(text).label in ("case_status", "greeting", "unknown")


def test_every_lexicon_word_alone_and_in_pairs_is_understood_without_error():
    """Each word of the lexicon's lists, alone and after another list's first word, goes through
    ``classify`` (a rule that assumes another label's score must not crash on a bare phrase)."""
    data = nlu.knowledge.load("nlu/lexicon")
    lists = [v for k, v in data.items() if isinstance(v, list)]
    lists += [ws for tiers in data["labels"].values() for ws in tiers.values()]
    firsts = [str(ws[0]) for ws in lists if ws]
    seen = 0
    for words in lists:
        for w in words:
            for text in (str(w), firsts[seen % len(firsts)] + str(w)):
                assert nlu.classify(text).label in nlu.LABELS
                seen += 1
    assert seen > 500


@pytest.mark.parametrize("text", ["每次下雨我家門口的水溝就滿出來 路都淹了"])
def test_a_road_problem_every_time_it_rains_is_a_road_report(text):
    assert nlu.classify(text).label == "road_report"


def test_a_drain_feared_before_a_typhoon_is_a_report():
    # A typhoon coming and a drain feared to block: either report helps (the repair before, or the
    # storm's damage). Since the twelfth round it is the storm's report; a rule deciding the repair
    # whenever a worry is told lost four lines in cross-validation and was not kept.
    assert nlu.classify("颱風要來了 擔心路邊水溝又堵住淹水").label in ("road_report", "disaster_report")


def test_a_disaster_happening_now_stays_a_disaster_even_if_it_happens_every_year():
    assert nlu.classify("每次下雨都這樣 現在後山土石流沖到路上了").label == "disaster_report"


def test_a_fall_that_may_happen_is_not_an_emergency():
    from handlers.welfare import is_emergency
    assert not is_emergency("那段路完全沒燈 老人家走路會跌倒")
    assert is_emergency("阿嬤剛剛在浴室跌倒了")


@pytest.mark.parametrize("text,topic", [("老人津貼", "social.senior_living_allowance"),
                                        ("急難救助", "social.emergency_aid"),
                                        ("身心障礙生活補助", "social.disability_allowance")])
def test_a_programme_named_alone_gets_its_entry_with_the_screener_offered(text, topic):
    from bot.cli import _route_text
    got, out = _route_text(text)
    assert (got["intent"], got["topic"]) == ("faq", topic)
    assert out.replies[0].quick_replies[0].data == "flow=welfare"         # 福利補助試算 first
    assert (out.state or {}).get("flow") != "welfare"                     # the screener waits to be asked


def test_what_else_can_they_get_with_one_programme_named_is_the_screener():
    assert nlu.classify("我爸70歲 只有老農津貼 還可以申請別的嗎").label == "welfare"
    assert nlu.classify("我媽82歲一個人住，有什麼補助").label == "welfare"


@pytest.mark.parametrize("text,label", [
    ("我住高雄美濃 我們那邊的大坑洞一年了都沒人補 打去區公所也沒用", "unknown"),   # lives elsewhere, any length
    ("我在永康 路上有一個大洞", "unknown"),
    ("台20線往玉井方向有一段路面變成波浪狀", "road_report"),            # a direction is not a place
    ("龍崎那邊過來的路 邊坡整片滑下來 兩邊都不通了", "disaster_report"),
    ("我住台北 我媽家門口的路燈壞了", "road_report"),                   # the family may live in Zuozhen
])
def test_another_places_matter_is_told_by_where_the_resident_is(text, label):
    assert nlu.classify(text).label == label


def test_another_places_matter_is_told_whose_it_is():
    got, out = _route("我住高雄美濃 我們那邊的大坑洞一年了都沒人補")
    reply = out.replies[0].text
    assert got["intent"] == "unknown" and nlu.classify("我住高雄美濃 我們那邊的大坑洞一年了都沒人補").elsewhere == "高雄"
    assert "不在左鎮區" in reply and "1999" in reply and "06-5731611" in reply
    assert "不太懂" not in reply and "不太確定" not in reply


# -- the sixth round: rules chosen on cross-validation misses (examples only) ---------------------

@pytest.mark.parametrize("text", ["橋頭那個大洞補好了沒", "我家後面那支燈到底換了沒", "報修之後大概幾天會有人來",
                                  "第二次反映了 溝仔猶原塞牢咧", "水溝的事我報了三個禮拜 一點動靜都沒有",
                                  "你們回說下禮拜會來 結果連個人影都沒有", "阿母的津貼申請送件兩個月了 都沒消息"])
def test_asking_about_a_report_already_made_is_a_case_look_up(text):
    assert nlu.classify(text).label == "case_status"


@pytest.mark.parametrize("text", ["好的", "嗯嗯", "掰掰", "早", "讚"])
def test_an_acknowledgement_alone_is_a_greeting(text):
    assert nlu.classify(text).label == "greeting"


@pytest.mark.parametrize("text", ["總機一直忙線 我要找人講", "打去都轉來轉去沒人接", "請叫人打來給我 我不會打字"])
def test_phones_nobody_answers_want_a_person(text):
    assert nlu.classify(text).label == "human"


@pytest.mark.parametrize("text,topic", [("我們巷口太暗 想申請加裝路燈", "agri.street_light"),
                                        ("轉彎那邊想申請裝一面反射鏡", "agri.traffic_signs")])
def test_a_new_one_wanted_is_the_faq_not_a_report(text, topic):
    got = nlu.classify(text)
    assert got.label == "faq" and got.topic == topic


@pytest.mark.parametrize("text", ["被查到花盆有孑孓 要罰多少", "孳生源罰單", "阮兜的水桶有孑孓 予人開單"])
def test_a_fine_asked_about_is_answered_not_reported(text):
    got = understand(text)
    assert got["intent"] in ("faq", "dengue_info") and "3,000到15,000元" in got["reply"]


@pytest.mark.parametrize("text,chat", [("停水了", "user"), ("停電了 要打給誰", "user")])
def test_a_cut_told_by_a_resident_gets_whose_number_it_is(text, chat):
    got = understand(text)
    assert got["topic"] in ("office.power_cut", "office.water_supply")


@pytest.mark.parametrize("text", ["水淹進來了 阿嬤還在一樓出不來", "阿公洗腎 現在路被土石蓋住 車子出不去"])
def test_an_elder_named_in_an_emergency_is_not_a_screening_request(text):
    assert nlu.classify(text).label != "welfare"
    assert SCREENER not in understand(text)["reply"]


@pytest.mark.parametrize("text,label", [("颱風一直吹 路口那棵樹倒了擋住整條路", "disaster_report"),
                                        ("雨還在下 村子對外那條路的邊坡崩一塊下來", "disaster_report"),
                                        ("路口那棵樹倒了擋住整條路", "road_report"),           # no storm told
                                        ("每次颱風那棵樹都會斷枝 可以先修剪嗎", "road_report")])  # a worry, not now
def test_a_road_problem_in_a_storm_now_is_the_storms_damage(text, label):
    assert nlu.classify(text).label == label


def test_a_power_cut_alone_is_taipowers_number():
    got = understand("我們這邊又停電了")
    assert got["topic"] == "office.power_cut" and "1911" in got["reply"]


@pytest.mark.parametrize("text", ["【通知】您的老人津貼尚未領取 請於今日點擊 https://gov-pay.example.top 登錄帳戶",
                                  "有人傳簡訊說點進去這個連結可以登記領補助 是真的嗎"])
def test_a_pasted_scam_text_is_warned_about_not_screened(text):
    got = understand(text)
    assert got["intent"] == "faq" and got["topic"] == "office.scam_message"
    assert "165" in got["reply"] and "詐騙" in got["reply"] and SCREENER not in got["reply"]


def test_a_map_link_with_a_report_is_still_a_report():
    got = nlu.classify("路燈壞了 在這裡 https://maps.app.goo.gl/abc123")
    assert got.label == "road_report"


@pytest.mark.parametrize("text", ["竹篙倒落來", "廟口的招牌生鏽掛在那邊 可以叫人處理嗎"])
def test_a_problem_told_or_asked_to_be_handled_is_offered_as_a_report(text):
    got, out = _route(text)
    first = out.replies[0].text
    assert got["intent"] != "unknown" or ("通報" in first and "不太懂" not in first and "不太確定" not in first)


# Tenth round: a person asked for in so many words, whatever service the message names.
@pytest.mark.parametrize("text", ["兵役課的林先生在嗎", "請社會課承辦打我手機 晚上都可以", "麻煩轉戶政",
                                  "急難救助的承辦是誰 我想跟他本人講", "里幹事可以撥個電話給我嗎 我不會打字",
                                  # fifteenth round: the head of the office, a meeting, a call to someone's home
                                  "我要找區長 有事情當面講", "阿公不會打字 可以打去他家嗎"])
def test_a_person_asked_for_by_a_services_name_is_a_person(text):
    got = understand(text)
    assert got["intent"] == "human" and "06-5731611" in got["reply"]


@pytest.mark.parametrize("text,label", [("路燈不亮 請打給我", "road_report"),          # a report: its flow asks for a phone
                                        ("報修兩個禮拜了 請承辦回電", "case_status")])  # the resident's cases, with a person
def test_a_person_asked_for_beside_a_report_or_a_complaint_keeps_them(text, label):
    assert nlu.classify(text).label == label


@pytest.mark.parametrize("text", ["有人打電話給我阿嬤 說要領重陽禮金要先給身分證 是真的嗎", "大家請轉告 明天停水"])
def test_a_call_told_or_a_message_passed_on_is_no_wish_for_a_person(text):
    assert not nlu._wants_person(nlu.normalize(text), {})


@pytest.mark.parametrize("text", ["區公所有什麼可以幫我阿嬤的 她九十了", "阮老母無收入 會使申請啥",
                                  "我爸有領老農津貼 還能有別的嗎", "外公八十幾 一個人住 符合哪些補助"])
def test_what_help_fits_someone_living_starts_the_screener_whatever_it_resembles(text):
    got = understand(text)
    assert got["intent"] == "welfare" and SCREENER in got["reply"]


@pytest.mark.parametrize("text", ["阿公走了 家裡有什麼補助可以申請", "阮予人告 無錢請律師 敢有人會鬥相共"])
def test_a_death_or_another_service_is_not_a_screening_request(text):
    got = understand(text)
    assert got["intent"] != "welfare" and SCREENER not in got["reply"]


def test_the_neighbours_vote_for_chat_too():
    """An unknown example near the message counts for unknown (UNKNOWN_WEIGHT): chat that uses the
    office's words is not answered with an entry."""
    from services import nlu_learned
    scores = {"faq": 3.0}   # an entry the words found
    guess = nlu_learned.Guess("unknown", 1.0, None, 0.0, 0.9, "x", votes=(("unknown", 1.0),))
    nlu_learned.fuse(guess, scores, deceased=False)
    assert scores["unknown"] == pytest.approx(nlu_learned.UNKNOWN_WEIGHT) and nlu_learned.UNKNOWN_WEIGHT > 0
    assert nlu_learned.fallback(guess, deceased=False) is None   # never the label of a message the rules cannot place
    for told in ({"road_report": 3.0, "faq": 3.5}, {"human": 2.0}):
        nlu_learned.fuse(guess, told, deceased=False)
        assert "unknown" not in told   # a report or a person the words told stands: chat contests only an entry


# Eleventh round: asking how to report a problem decides the report; the weather said now or over.
def test_how_to_report_a_problem_is_decided_as_its_report():
    """The examples' votes do not turn "how do I report X" into a question about X's service."""
    scores = {"road_report": 4.0, "faq": 1.0}
    assert nlu._decided(nlu.normalize("樹倒了要打給誰"), scores, scam=False, how_report="road_report") == "road_report"
    assert nlu._decided(nlu.normalize("樹倒了"), scores, scam=False) is None
    for text in ("請問竹子倒在路上要報給誰", "巷口那個大坑洞 要去哪裡報"):
        assert understand(text)["intent"] == "road_report"


@pytest.mark.parametrize("text,label", [("雨下得好大 往睦光的路邊坡土一直滑下來", "disaster_report"),
                                        ("現在風很強 竹子一支一支倒在路上", "disaster_report"),
                                        ("沒下雨也一直掉小石頭 路邊那個坡 請來看看", "road_report"),
                                        ("上個月大雨沖壞的農路 到現在還沒人修", "road_report")])
def test_rain_told_now_or_over_decides_storm_or_repair(text, label):
    assert nlu.classify(text).label == label


@pytest.mark.parametrize("text", ["路中間一條死蛇", "南179又坍了"])
def test_a_dead_animal_or_a_slip_is_never_not_understood(text):
    assert nlu.classify(text).label in ("road_report", "disaster_report")


def test_the_neighbours_do_not_start_the_screener_for_no_one():
    """A message with no word of help and no one it could be for (我要申請證明) takes no welfare vote;
    an elder or an age named keeps it (爸剛滿65 有啥)."""
    from services import nlu_learned
    guess = nlu_learned.Guess("welfare", 1.0, None, 0.0, 0.9, "x", votes=(("welfare", 1.0),))
    scores = {"faq": 2.0}
    nlu_learned.fuse(guess, scores, deceased=False, no_one=nlu._no_one(nlu.normalize("我要申請證明"), scores))
    assert "welfare" not in scores
    for text in ("爸剛滿65 有啥", "90歲 要申請啥", "阿伯截肢 要申請啥"):
        assert not nlu._no_one(nlu.normalize(text), {})
    assert nlu.classify("媽70 都沒領過").label == "welfare"


@pytest.mark.parametrize("text", ["我爸上禮拜走掉了 他的老農津貼怎麼辦", "阿嬤上個月走掉了 家裡可以申請什麼",
                                  "靈堂設在家裡 鄰居會不會抗議 有補助嗎",
                                  # a time ago between the person and 走了 (fifteenth round)
                                  "我先生三個月前走了 我跟兩個孩子可以申請什麼"])
def test_a_death_told_as_gone_or_by_its_rites_never_starts_the_screener(text):
    assert nlu.deceased(nlu.normalize(text))
    assert SCREENER not in understand(text)["reply"]


def test_parents_not_around_is_no_death():
    """不在了 is also "not around": a grandchild raised by a grandmother is screened for (it was tried as a
    death word and left out)."""
    assert not nlu.deceased(nlu.normalize("孫子給阿嬤養，爸媽都不在了，有什麼補助"))


@pytest.mark.parametrize("text,words", [("孑孓要怎麼清", "巡、倒、清、刷"), ("孑孓罰多少", "3,000到15,000元"),
                                        ("登革熱被查到孑孓會罰多少錢", "4月1日")])
def test_dengue_asked_about_with_its_entry_found_is_the_dengue_information(text, words):
    # The examples' writers label such questions faq (the dengue entries), and since the linear
    # classifier joined the votes they said faq; the dengue information answers them from the same
    # knowledge, with its own buttons (tests/test_dengue.py), so the rule decides it (services/nlu.py).
    got = understand(text)
    assert got["intent"] == "dengue_info" and words in got["reply"]


@pytest.mark.parametrize("text", ["您好，請問一下", "你好 請問一下"])
def test_a_greeting_with_nothing_asked_yet_is_the_greeting(text):
    # Decided by the rules (services/nlu._decided, GREETING_ALONE): the examples' votes once made
    # 「您好，請問一下」 (the shared dev set) a road report, because reports often open with it.
    assert nlu.classify(text).label == "greeting"


@pytest.mark.parametrize("text", ["水勾阻塞 臭死", "水溝阻塞了"])
def test_a_blocked_drain_is_never_not_understood(text):
    assert understand(text)["intent"] == "road_report"


@pytest.mark.parametrize("text", ["感謝 巷口那支路燈昨天就亮起來了", "多謝 阮兜後壁彼條水溝清甲足清氣",
                                  "謝謝你們來補路 那個坑補平了 騎車不會再跳"])
def test_thanks_for_a_repair_done_is_a_thank_you_not_a_new_report(text):
    # Decided by the rules (nlu.repair_thanked, _decided): the thing named (路燈, 水溝, 坑) made the
    # examples' votes start its report, asking a resident who is only saying thank you for a place.
    got = understand(text)
    assert got["intent"] == "greeting" and got["reply"].startswith("不客氣")


@pytest.mark.parametrize("text", ["謝謝你們換了路燈 可是這禮拜又不亮了", "多謝恁 路燈光矣 毋過邊仔水溝蓋破一空"])
def test_thanks_that_turns_to_a_new_problem_is_the_problem(text):
    assert understand(text)["intent"] == "road_report"


@pytest.mark.parametrize("text", ["阮阿母的中低收入戶 去公所辦一個月矣 猶無消息", "身障補助上禮拜在公所申請的 有通過嗎",
                                  "上個月申請中低收入 什麼時候會通知", "急難救助申請了 錢什麼時候會下來",
                                  # fifteenth round: a storm's relief (颱風 alone is no report told beside it),
                                  # and how long the review takes
                                  "颱風過後申請的災害救助金 兩個禮拜了 什麼時候會撥", "農損救助送件了 審核要多久"])
def test_an_application_asked_after_in_other_words(text):
    got = understand(text)
    assert got["intent"] == "case_status" and got["rule"] == "case_lookup.application"
    assert "06-5731611" in got["reply"]


def test_when_will_it_be_told_is_not_when_will_the_road_reopen():
    # 「什麼時候會通」 (a road cut in a storm) was found inside 「什麼時候會通知」.
    assert nlu.classify("上個月申請中低收入 什麼時候會通知").label != "disaster_report"
    assert nlu.classify("南168坍方 路什麼時候會通").label == "disaster_report"


@pytest.mark.parametrize("text", ["阮阿母八十外 一个人蹛 敢有錢通領", "我先生中風 我一個人顧他又要養小孩 政府有沒有幫忙",
                                  "我妹離婚自己帶兩個小孩 公所可以幫她嗎",
                                  # fifteenth round: what the government can pay for, in Mandarin and Taiwanese
                                  "爸爸癱瘓在床 我辭職在家照顧 政府能補助什麼", "阮阿爸破病佇厝 我一个人顧 有啥物會當領"])
def test_help_for_a_household_asked_in_general_starts_the_screener(text):
    assert nlu.classify(text).label == "welfare"


@pytest.mark.parametrize("text", ["有沒有人可以幫我 我看不懂這個要按哪裡", "鄰居圍牆蓋到我的地 有人可以幫忙講和嗎"])
def test_someone_to_help_with_something_else_is_not_the_screener(text):
    assert nlu.classify(text).label != "welfare"

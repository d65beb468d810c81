"""The rich menu is deployed through the real SDK: created, image uploaded, set as default."""
from __future__ import annotations

import pytest
from PIL import Image

from bot.extensions import get_services
from services import richmenu
from services.line import deploy_rich_menu


def test_image_meets_line_rules():
    data = richmenu.IMAGE.read_bytes()
    assert len(data) < 1024 * 1024
    with Image.open(richmenu.IMAGE) as img:
        assert img.size == (2500, 843) and img.format == "PNG"


def test_areas_cover_the_menu_and_use_the_flow_contract():
    req = richmenu.request()
    assert [a.action.label for a in req.areas] == ["報修道路路燈", "登革熱通報", "福利補助試算", "常見問題", "案件查詢", "聯絡區公所"]
    assert len(req.chat_bar_text) <= 14
    assert sum(a.bounds.width * a.bounds.height for a in req.areas) == 2500 * 843
    datas = [a.action.data for a in req.areas if a.action.type == "postback"]
    assert "flow=road" in datas and "action=my_cases" in datas


def test_deploy_through_the_sdk(app, fake_line):
    rich_menu_id = deploy_rich_menu(get_services(app).line, richmenu.request(), richmenu.IMAGE.read_bytes())
    store = fake_line.store
    assert store.default_rich_menu == rich_menu_id
    assert store.rich_menus[rich_menu_id]["image"] == richmenu.IMAGE.read_bytes()
    paths = [q.path for q in store.requests]
    assert paths == ["/v2/bot/richmenu", f"/v2/bot/richmenu/{rich_menu_id}/content",
                     f"/v2/bot/user/all/richmenu/{rich_menu_id}"]


def test_menu_taps_reach_the_bot(resident):
    from tests.helpers import postback_event
    out = resident.deliver(postback_event(resident.user, "flow=road"))
    assert "哪一種問題" in out[-1]
    out = resident.deliver(postback_event(resident.user, "flow=welfare"))
    assert "道路報修" in out[0]  # the screener is built: it asks before leaving the road report


@pytest.mark.parametrize("menu", ["main", "disaster"])
def test_a_menu_button_typed_as_text_answers_like_the_tap(app, fake_line, menu):
    """Elders type what they see on the menu (and old LINE versions send the label as text)."""
    from services.knowledge import load
    from tests.helpers import Resident, postback_event
    for area in load(f"richmenu/{menu}")["areas"]:
        tapper, typer = Resident(app, fake_line.store), Resident(app, fake_line.store)
        tapped = tapper.deliver(postback_event(tapper.user, area["data"]))
        typed = typer.says(area["label"])
        # the same answer; typed danger words may also begin the report at once (119 comes first)
        assert typed[:len(tapped)] == tapped, area["label"]

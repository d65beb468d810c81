"""The main rich menu: six big buttons, drawn from knowledge/richmenu/main.yaml.

``render`` draws the image (it needs a font with Traditional Chinese; the image committed in
knowledge/richmenu/main.png was drawn with Noto Sans CJK TC). ``request`` builds the SDK
request; the gateway deploys both.
"""
from __future__ import annotations

import io
from pathlib import Path

from linebot.v3.messaging import PostbackAction, RichMenuArea, RichMenuBounds, RichMenuRequest, RichMenuSize, URIAction

from services.knowledge import KNOWLEDGE_DIR, load

COLUMNS, ROWS = 3, 2
IMAGE = KNOWLEDGE_DIR / "richmenu" / "main.png"


def layout(name: str = "main") -> dict:
    """``knowledge/richmenu/<name>.yaml``: ``main``, or ``disaster`` (the disaster mode's menu)."""
    return load(f"richmenu/{name}")


def image_path(name: str = "main"):
    return KNOWLEDGE_DIR / "richmenu" / f"{name}.png"


def _cells(width: int, height: int):
    w, h = width // COLUMNS, height // ROWS
    for i in range(COLUMNS * ROWS):
        col, row = i % COLUMNS, i // COLUMNS
        yield col * w, row * h, (width - col * w if col == COLUMNS - 1 else w), (height - row * h if row == ROWS - 1 else h)


def request(name: str = "main") -> RichMenuRequest:
    spec = layout(name)
    size = spec["size"]
    areas = []
    for area, (x, y, w, h) in zip(spec["areas"], _cells(size["width"], size["height"])):
        if "uri" in area:
            action = URIAction(label=area["label"][:20], uri=area["uri"])
        else:
            action = PostbackAction(label=area["label"][:20], data=area["data"], display_text=area["display"])
        areas.append(RichMenuArea(bounds=RichMenuBounds(x=x, y=y, width=w, height=h), action=action))
    return RichMenuRequest(size=RichMenuSize(width=size["width"], height=size["height"]), selected=True,
                           name=spec["name"], chat_bar_text=spec["chat_bar_text"], areas=areas)


def render(font_path: str | Path, name: str = "main") -> bytes:
    """Draw the menu: white cells with large dark labels (for elders' eyes), under 1 MB."""
    from PIL import Image, ImageDraw, ImageFont
    spec = layout(name)
    width, height = spec["size"]["width"], spec["size"]["height"]
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(font_path), 118)
    colours = [tuple(c) for c in spec.get("colours", ())] or [
        (0, 135, 90), (190, 60, 40), (200, 110, 0), (40, 100, 180), (90, 60, 150), (60, 60, 60)]
    for i, (area, (x, y, w, h)) in enumerate(zip(spec["areas"], _cells(width, height))):
        draw.rectangle([x + 8, y + 8, x + w - 8, y + h - 8], fill=colours[i % len(colours)])
        label = area["label"]
        if len(label) > 4:
            label = label[: (len(label) + 1) // 2] + "\n" + label[(len(label) + 1) // 2:]
        draw.multiline_text((x + w / 2, y + h / 2), label, font=font, fill=(255, 255, 255), anchor="mm",
                            align="center", spacing=18)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()

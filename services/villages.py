"""Village (里) lookup for 臺南市左鎮區.

Pure Python on top of shapely: no web framework, cache or database. The data
lives in ``knowledge/places/`` (see the README there) and is loaded lazily,
once per process, on the first call.

Two kinds of lookup are offered:

* :func:`locate` maps a WGS84 point (for example a LINE location message) to
  a village. The boundary data carries errors of a few metres to tens of
  metres, so a point close to a boundary is reported as ``"near_boundary"``
  with every plausible village instead of a confident single answer.
* :func:`find_village_in_text` finds a village named in free text
  ("草山那邊的路" -> "草山里").

Distances are computed in a local metric plane: lon/lat are projected once,
at load time, with an equirectangular projection centred on the district
centroid. Over the ~14 km extent of the district this is accurate to well
under 1 %, which is far below the error of the boundaries themselves.

The boundaries must not be used to decide which village the district office
is in: it sits within the boundary error of the 左鎮里/中正里 border. State
the office's village from its address instead.
"""

from __future__ import annotations

import json
import math
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import shapely
import yaml
from shapely import STRtree
from shapely.geometry import Point, shape

__all__ = [
    "PlaceMatch",
    "locate",
    "village_names",
    "find_village_in_text",
    "distance_m",
    "in_district",
]

PLACES_DIR = Path(__file__).resolve().parent.parent / "knowledge" / "places"
VILLAGES_GEOJSON = PLACES_DIR / "zuozhen-villages.geojson"
OUTLINE_GEOJSON = PLACES_DIR / "zuozhen-district-outline.geojson"
VILLAGES_YAML = PLACES_DIR / "villages.yaml"

# Mean Earth radius (IUGG), used by the haversine formula.
EARTH_RADIUS_M = 6_371_008.8
# Metres per degree for the local equirectangular projection.
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LNG_AT_EQUATOR = 111_320.0

# Words that must never match a village on their own, and characters that, placed
# before a short name, mean it is part of an ordinary word: both are data, in
# villages.yaml under ``text_matching`` (with the reasons).


@dataclass(frozen=True)
class PlaceMatch:
    """Result of :func:`locate`.

    status:
        ``"inside"``: the point is inside ``village`` and farther than the
        margin from every other village.
        ``"near_boundary"``: more than one village is plausible, or the point
        lies just outside the district (within the margin of its outline).
        ``"outside"``: the point is outside the district by more than the
        margin.
    village:
        The best village name (e.g. ``"左鎮里"``): the containing village if
        any, else the nearest one. ``None`` when outside.
    candidates:
        ``(village,)`` when inside; for near_boundary, every village within
        the margin, best first (the containing village, then by distance).
        Inside the district that is at least two villages; for a point just
        outside the outline it may be a single one. ``()`` when outside.
    distance_to_boundary_m:
        When the point is in a village: distance in metres to that village's
        boundary (which may be the district's outer edge; so an ``"inside"``
        point can have a value below the margin if it is near the edge of the
        district but far from every other village). When it is in no village:
        distance to the nearest village, i.e. to the district outline
        (approximate for points far from the district).
    """

    status: str
    village: str | None
    candidates: tuple[str, ...]
    distance_to_boundary_m: float | None


@dataclass(frozen=True)
class _Places:
    """Everything loaded from knowledge/places, with geometries projected."""

    names: tuple[str, ...]
    polygons: tuple[shapely.Polygon, ...]  # projected, prepared
    boundaries: tuple[shapely.LineString | shapely.MultiLineString, ...]
    tree: STRtree
    outline: shapely.Polygon  # projected, prepared
    lat0: float
    lng0: float
    m_per_deg_lng: float
    text_tokens: tuple[tuple[str, str], ...]  # (token, village name), longest first
    guards: dict[str, frozenset[str]]  # short name -> characters that may not precede it

    def project(self, lat: float, lng: float) -> Point:
        """Project one WGS84 point into the local metric plane."""
        return Point((lng - self.lng0) * self.m_per_deg_lng, (lat - self.lat0) * _M_PER_DEG_LAT)


def _read_json(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


@cache
def _places() -> _Places:
    """Load, cross-check, project and index the village data (once)."""
    features, entries, meta, outline_feature = _read_checked()
    lat0 = float(outline_feature["properties"]["centroid_lat"])
    lng0 = float(outline_feature["properties"]["centroid_lng"])
    m_per_deg_lng = math.cos(math.radians(lat0)) * _M_PER_DEG_LNG_AT_EQUATOR

    def to_plane(coords: np.ndarray) -> np.ndarray:
        # shapely passes an (N, 2) array of (lng, lat).
        return np.column_stack(
            ((coords[:, 0] - lng0) * m_per_deg_lng, (coords[:, 1] - lat0) * _M_PER_DEG_LAT)
        )

    polygons = tuple(shapely.transform(shape(f["geometry"]), to_plane) for f in features)
    outline = shapely.transform(shape(outline_feature["geometry"]), to_plane)
    boundaries = tuple(p.boundary for p in polygons)
    _prepare((*polygons, outline))
    tree = STRtree(polygons)

    names = tuple(v["name"] for v in entries)
    return _Places(
        names=names,
        polygons=polygons,
        boundaries=boundaries,
        tree=tree,
        outline=outline,
        lat0=lat0,
        lng0=lng0,
        m_per_deg_lng=m_per_deg_lng,
        text_tokens=_build_text_tokens(entries, frozenset(meta["text_matching"]["never_bare"])),
        guards={k: frozenset(v) for k, v in meta["text_matching"]["preceding_char_guards"].items()},
    )


def _read_checked() -> tuple[list[dict], list[dict], dict, dict]:
    """The villages' features, their entries in the YAML (checked to be the same villages in the same
    order), the YAML, and the district outline's feature."""
    villages_fc = _read_json(VILLAGES_GEOJSON)
    outline_fc = _read_json(OUTLINE_GEOJSON)
    with VILLAGES_YAML.open(encoding="utf-8") as fh:
        meta = yaml.safe_load(fh)

    features = villages_fc["features"]
    entries = meta["villages"]
    geo_keys = [(f["properties"]["villcode"], f["properties"]["name"]) for f in features]
    yaml_keys = [(str(v["id"]), v["name"]) for v in entries]
    if geo_keys != yaml_keys:
        raise RuntimeError(
            f"{VILLAGES_YAML.name} and {VILLAGES_GEOJSON.name} disagree on the villages "
            f"or their order: {yaml_keys} != {geo_keys}"
        )
    return features, entries, meta, outline_fc["features"][0]


def _prepare(geoms: tuple) -> None:
    """Ready the geometries for fast look-ups, safe to share between threads."""
    for geom in geoms:
        shapely.prepare(geom)
    # GEOS builds some internal indexes lazily on first use; do it now, in
    # one thread, so that later concurrent lookups only read.
    probe = Point(0.0, 0.0)
    for geom in geoms:
        geom.contains(probe)
        geom.distance(probe)


def _build_text_tokens(entries: list[dict], never_bare: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """Every string that names a village in free text, longest first."""
    owner: dict[str, str] = {}
    for v in entries:
        name = v["name"]
        forms = [name, v["short"], *(v.get("aliases") or [])]
        for form in forms:
            form = unicodedata.normalize("NFKC", str(form)).strip()
            if not form or form in never_bare:
                continue
            if owner.setdefault(form, name) != name:
                raise RuntimeError(f"{VILLAGES_YAML.name}: {form!r} names both {owner[form]} and {name}")
    return tuple(sorted(owner.items(), key=lambda kv: (-len(kv[0]), kv[0])))


# ---------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------


def _coordinate(value: float, what: str, limit: float) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, not {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, not {value!r}") from None
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise ValueError(f"{what} out of range [-{limit:g}, {limit:g}]: {value!r}")
    return number


def _lat_lng(lat: float, lng: float) -> tuple[float, float]:
    return _coordinate(lat, "latitude", 90.0), _coordinate(lng, "longitude", 180.0)


def _margin(margin_m: float) -> float:
    try:
        margin = float(margin_m)
    except (TypeError, ValueError):
        raise ValueError(f"margin_m must be a number, not {margin_m!r}") from None
    if not math.isfinite(margin) or margin < 0:
        raise ValueError(f"margin_m must be a finite number >= 0, not {margin_m!r}")
    return margin


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def locate(lat: float, lng: float, margin_m: float = 50.0) -> PlaceMatch:
    """Find the village containing a WGS84 point.

    A point inside a village and farther than ``margin_m`` from every other
    village is ``"inside"``. A point within ``margin_m`` of a second village
    (or, on an exact shared edge, of several) is ``"near_boundary"``. A point
    outside the district but within ``margin_m`` of its outline is also
    ``"near_boundary"``, with the nearby villages as candidates: residents on
    a road along the district's edge should still get an answer. Anything
    farther out is ``"outside"``.

    The default margin of 50 m reflects the error of the boundary data; see
    knowledge/places/README.md.

    Raises ValueError for NaN, infinite or out-of-range coordinates and for a
    negative margin.
    """
    lat, lng = _lat_lng(lat, lng)
    margin = _margin(margin_m)
    places = _places()
    point = places.project(lat, lng)

    nearby = places.tree.query(point, predicate="dwithin", distance=margin)
    containing: int | None = None
    distances: list[tuple[float, int]] = []
    for index in nearby.tolist():
        polygon = places.polygons[index]
        if containing is None and polygon.contains(point):
            containing = index
        else:
            distance = polygon.distance(point)
            if distance <= margin:
                distances.append((distance, index))
    distances.sort()

    if containing is not None:
        name = places.names[containing]
        to_edge = float(places.boundaries[containing].distance(point))
        if distances:
            candidates = (name, *(places.names[i] for _, i in distances))
            return PlaceMatch("near_boundary", name, candidates, to_edge)
        return PlaceMatch("inside", name, (name,), to_edge)

    if distances:
        candidates = tuple(places.names[i] for _, i in distances)
        return PlaceMatch("near_boundary", candidates[0], candidates, float(distances[0][0]))

    return PlaceMatch("outside", None, (), float(places.outline.distance(point)))


def village_names() -> tuple[str, ...]:
    """The 10 official village names, in villcode order."""
    return _places().names


def find_village_in_text(text: str) -> str | None:
    """Return the one village named in ``text``, or None.

    Accepts the full name (草山里), the short name (草山), the former 村 name
    (草山村) and the variant or simplified spellings listed in villages.yaml
    (内庄, 冈林, 荣和). The bare word 左鎮 is the district's name and never
    means 左鎮里; the bare word 中正 is too common (中正路) and is ignored.

    Matching scans left to right and takes the longest name at each
    position, so overlapping names do not both count. Returns None when no
    village is named or when two different villages are.
    """
    if not text:
        return None
    text = unicodedata.normalize("NFKC", str(text))
    tokens = _places().text_tokens
    found: set[str] = set()
    i = 0
    while i < len(text):
        for token, village in tokens:
            if not text.startswith(token, i):
                continue
            guard = _places().guards.get(token)
            if guard and i > 0 and text[i - 1] in guard:
                continue
            found.add(village)
            i += len(token)
            break
        else:
            i += 1
    return found.pop() if len(found) == 1 else None


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle (haversine) distance in metres between two WGS84 points.

    Uses a spherical Earth of mean radius 6,371,008.8 m, so results differ
    from the ellipsoidal distance by up to about 0.5 %.
    """
    lat1, lng1 = _lat_lng(lat1, lng1)
    lat2, lng2 = _lat_lng(lat2, lng2)
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lng2 - lng1) / 2
    h = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def in_district(lat: float, lng: float, margin_m: float = 0.0) -> bool:
    """True if the point is in 左鎮區, or within ``margin_m`` metres of it.

    Points exactly on the outline count as inside.
    """
    lat, lng = _lat_lng(lat, lng)
    margin = _margin(margin_m)
    places = _places()
    point = places.project(lat, lng)
    if places.outline.covers(point):
        return True
    return margin > 0 and places.outline.distance(point) <= margin

"""Maps drawn on the server as SVG, on a basemap that ships with kazdata: no tiles, no script,
no request to another host.

The basemap is ``geodata/region.geojson``: Natural Earth's 1:50m country borders (public
domain), clipped to the region and simplified by ``bench/basemap.py`` (``geodata/README.md``).
A map is a window over it, projected equirectangularly with the longitude scaled by the cosine
of the middle latitude (true to scale at that latitude, which at these sizes is all a reader
needs), the places drawn as labelled dots, a scale bar in kilometres, and a link to
OpenStreetMap at the coordinates for anyone who wants streets.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

BASEMAP = Path(__file__).resolve().parent / "geodata" / "region.geojson"
#: the country drawn as the focus of the region
FOCUS_COUNTRY = "Kazakhstan"
WIDTH, HEIGHT = 640, 400
#: the narrowest window, in degrees of latitude (about 220 km): a city alone is shown in its region
MIN_SPAN = 2.0
KM_PER_DEGREE = 111.32
NICE_KM = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)


@cache
def basemap() -> list[dict]:
    """The basemap's rings: each a country name and its points with their bounding box."""
    collection = json.loads(BASEMAP.read_text(encoding="utf-8"))
    rings = []
    for feature in collection["features"]:
        for polygon in feature["geometry"]["coordinates"]:
            for ring in polygon:
                lons, lats = [p[0] for p in ring], [p[1] for p in ring]
                rings.append({"name": feature["properties"]["name"], "points": ring,
                              "box": (min(lons), min(lats), max(lons), max(lats))})
    return rings


def draw(points: list[dict], title: str) -> dict:
    """A map of ``points`` (dicts with ``lat``, ``lon``, ``label``, ``href``, ``own``: the ones
    the page is about, drawn in the accent colour): the land paths, the projected points, a
    scale bar and the OpenStreetMap link at the first own point (else the first)."""
    south, north = min(p["lat"] for p in points), max(p["lat"] for p in points)
    west, east = min(p["lon"] for p in points), max(p["lon"] for p in points)
    middle = (south + north) / 2
    cos = max(math.cos(math.radians(middle)), 0.2)
    span_lat = max(north - south, MIN_SPAN) * 1.3
    span_lon = max(east - west, MIN_SPAN / cos) * 1.3
    if span_lon * cos / span_lat < WIDTH / HEIGHT:  # widen or heighten to the frame's shape
        span_lon = span_lat * WIDTH / HEIGHT / cos
    else:
        span_lat = span_lon * cos * HEIGHT / WIDTH
    centre_lon = (west + east) / 2
    box = (centre_lon - span_lon / 2, middle - span_lat / 2, centre_lon + span_lon / 2, middle + span_lat / 2)

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (round((lon - box[0]) / span_lon * WIDTH, 1), round((box[3] - lat) / span_lat * HEIGHT, 1))

    land = [{"focus": ring["name"] == FOCUS_COUNTRY, "name": ring["name"],
             "d": "M" + "L".join(f"{x:g} {y:g}" for x, y in (project(lon, lat) for lon, lat in ring["points"])) + "Z"}
            for ring in basemap() if _overlaps(ring["box"], box)]
    dots = [{**p, "x": project(p["lon"], p["lat"])[0], "y": project(p["lon"], p["lat"])[1]} for p in points]
    at = next((p for p in points if p.get("own")), points[0])
    return {"width": WIDTH, "height": HEIGHT, "land": land, "dots": dots, "scale": _scale_bar(span_lon * cos),
            "title": title, "lat": at["lat"], "lon": at["lon"], "osm": osm_link(at["lat"], at["lon"], span_lat)}


def _overlaps(a: tuple, b: tuple) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _scale_bar(width_degrees: float) -> dict:
    """A bar of a round number of kilometres, about a quarter of the map's width."""
    km_per_pixel = width_degrees * KM_PER_DEGREE / WIDTH
    km = max((k for k in NICE_KM if k / km_per_pixel <= WIDTH / 4), default=NICE_KM[0])
    return {"km": km, "pixels": round(km / km_per_pixel, 1)}


def osm_link(lat: float, lon: float, span_lat: float) -> str:
    """OpenStreetMap at the coordinates, zoomed to about the map's extent."""
    zoom = max(2, min(16, round(math.log2(180 / max(span_lat, 0.01)))))
    return f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map={zoom}/{lat:.5f}/{lon:.5f}"

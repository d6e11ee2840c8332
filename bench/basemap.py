"""Regenerate the basemap the pages draw their maps on: ``kazdata/entities/geodata/region.geojson``.

    python bench/basemap.py

It fetches the npm package ``world-atlas`` (Natural Earth's 1:50m country borders as TopoJSON,
public domain; the package's own code is ISC) with ``npm pack``, decodes the TopoJSON, keeps the
countries that reach the region (Kazakhstan, the Caspian Sea's coast and the neighbours, out to
Moscow, whose Kremlin an event is located at), clips each ring to the region's box, simplifies it
(Douglas-Peucker) and writes GeoJSON with coordinates rounded to 0.01 degree. The output is
committed: neither the build, the server nor the tests need npm or the network
(docs/decisions/018-pages.md, kazdata/entities/geodata/README.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "world-atlas@2.0.2"
MEMBER = "package/countries-50m.json"
#: west, south, east, north (degrees)
REGION = (30.0, 34.0, 92.0, 60.0)
TOLERANCE = 0.03  # degrees: about 3 km, under a pixel on a map of the whole region
OUT = Path(__file__).resolve().parent.parent / "kazdata" / "entities" / "geodata" / "region.geojson"


def fetch_topology(folder: Path) -> dict:
    subprocess.run(["npm", "pack", PACKAGE, "--pack-destination", str(folder), "--silent"], check=True,
                   cwd=folder, stdout=subprocess.DEVNULL)
    tarball = next(folder.glob("world-atlas-*.tgz"))
    with tarfile.open(tarball) as archive:
        member = archive.extractfile(MEMBER)
        assert member is not None, MEMBER
        return json.load(member)


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """TopoJSON's quantised, delta-encoded arcs as lists of (longitude, latitude)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(arcs: list, indexes: list[int]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc[1:] if points else arc)
    return points


def clip(points: list, box: tuple) -> list:
    """Sutherland-Hodgman: the ring cut to the box (a ring wholly outside comes back empty)."""
    west, south, east, north = box
    edges = [(lambda p: p[0] >= west, lambda a, b: _at_x(a, b, west)),
             (lambda p: p[0] <= east, lambda a, b: _at_x(a, b, east)),
             (lambda p: p[1] >= south, lambda a, b: _at_y(a, b, south)),
             (lambda p: p[1] <= north, lambda a, b: _at_y(a, b, north))]
    for inside, cross in edges:
        if not points:
            break
        result, previous = [], points[-1]
        for point in points:
            if inside(point):
                if not inside(previous):
                    result.append(cross(previous, point))
                result.append(point)
            elif inside(previous):
                result.append(cross(previous, point))
            previous = point
        points = result
    return points


def _at_x(a, b, x):
    return x, a[1] + (b[1] - a[1]) * (x - a[0]) / (b[0] - a[0])


def _at_y(a, b, y):
    return a[0] + (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]), y


def simplify(points: list, tolerance: float) -> list:
    """Douglas-Peucker, iterative."""
    if len(points) < 4:
        return points
    keep = {0, len(points) - 1}
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = points[first], points[last]
        length = ((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5
        farthest, distance = None, tolerance
        for i in range(first + 1, last):
            px, py = points[i]
            # from the segment's line; from its end when it has none (a closed ring's ends meet)
            d = (abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / length if length
                 else ((px - ax) ** 2 + (py - ay) ** 2) ** 0.5)
            if d > distance:
                farthest, distance = i, d
        if farthest is not None:
            keep.add(farthest)
            stack += [(first, farthest), (farthest, last)]
    return [points[i] for i in sorted(keep)]


def features(topology: dict) -> list[dict]:
    arcs = decode_arcs(topology)
    found = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        rings = []
        for polygon in polygons:
            for indexes in polygon[:1]:  # outer rings: lakes inside a country are not drawn
                points = simplify(clip(ring(arcs, indexes), REGION), TOLERANCE)
                if len(points) >= 4:
                    rings.append([[round(x, 2), round(y, 2)] for x, y in points])
        if rings:
            found.append({"type": "Feature", "id": geometry.get("id"), "properties": {"name": geometry["properties"]["name"]},
                          "geometry": {"type": "MultiPolygon", "coordinates": [[r] for r in rings]}})
    return sorted(found, key=lambda f: f["properties"]["name"])


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        topology = fetch_topology(Path(folder))
    collection = {"type": "FeatureCollection", "bbox": list(REGION),
                  "source": f"Natural Earth 1:50m admin-0 countries via npm {PACKAGE} ({MEMBER}); public domain",
                  "features": features(topology)}
    OUT.write_text(json.dumps(collection, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(collection['features'])} countries, {OUT.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

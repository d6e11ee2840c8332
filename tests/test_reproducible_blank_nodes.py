"""Blank nodes do not make a release, a document or an answer depend on the process that wrote it.

Archivists compare releases byte for byte, and several web workers must send the same bytes
(and ETags) for the same URL. Python's hash seed, rdflib's random blank-node labels and set
order all change from one process to the next, so each side is written by a process of its own
with another ``PYTHONHASHSEED``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, Graph, URIRef
from rdflib.compare import isomorphic

from kazdata.formats import DATASET_FORMATS, GRAPH_FORMATS
from kazdata.sources import bundled

FIXTURES = Path(__file__).parent / "fixtures"
RDFLIB_FORMAT = {"ttl": "turtle", "jsonld": "json-ld", "nt": "nt", "rdf": "xml", "trig": "trig", "nq": "nquads"}

#: Blank nodes as a writer may be given them: labelled, nested, one reached from two nodes.
BLANK_GRAPH = (b"<https://w3id.org/kazdata/id/article/a> <https://schema.org/identifier> _:one .\n"
               b"<https://w3id.org/kazdata/id/article/a> <https://schema.org/identifier> _:two .\n"
               b"_:one <https://schema.org/value> \"A-1\" .\n"
               b"_:two <https://schema.org/value> \"A-2\" .\n"
               b"_:two <http://www.w3.org/2000/01/rdf-schema#seeAlso> _:one .\n")

# Builds the release, exports the static site (every entity document in every format, the
# pages, the dumps, both checksum lists) and writes what the server makes at run time: the
# service description in every graph format, and a graph with blank nodes in every format.
WRITE_EVERYTHING = """
import os
import sys
from pathlib import Path
import pyoxigraph as ox
from kazdata.builder import build_release, quiet
from kazdata.export.static_site import export_static
from kazdata.formats import DATASET_FORMATS, GRAPH_FORMATS, Style, rdf_bytes
from kazdata.settings import load_settings
from kazdata.web.app import create_app

sources, out = Path(sys.argv[1]), Path(sys.argv[2])
release = build_release(out / "release", sources_dir=sources, progress=quiet)
# the export's Last-Modified (Apache's If-Modified-Since) is the release's date on disk, an
# input like the sources: both sides give it the same
os.utime(release / "SHA256SUMS", (1324252800, 1324252800))
export_static(release, out / "site")
client = create_app(load_settings({"release": release}, environ={})).test_client()
answers = out / "answers"
answers.mkdir()
for fmt in GRAPH_FORMATS.values():
    response = client.get("/sparql", headers={"Accept": fmt.media_type})
    assert response.status_code == 200, response.status
    (answers / f"service.{fmt.extension}").write_bytes(response.data)
    (answers / f"etag.{fmt.extension}").write_text(response.headers.get("ETag", ""))
triples = list(ox.parse(sys.argv[3].encode(), format=ox.RdfFormat.N_TRIPLES))
for fmt in GRAPH_FORMATS.values():
    (answers / f"blank.{fmt.extension}").write_bytes(fmt.serialize(triples, Style({})))
graph = ox.NamedNode("https://w3id.org/kazdata/graph/notes")
quads = sorted((ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples), key=str)
for fmt in DATASET_FORMATS.values():  # as the dumps are written
    (answers / f"blank.{fmt.extension}").write_bytes(rdf_bytes(quads, fmt.rdf_format))
"""


def _write_everything(sources: Path, out: Path, seed: str) -> dict[str, bytes]:
    environ = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run([sys.executable, "-c", WRITE_EVERYTHING, str(sources), str(out), BLANK_GRAPH.decode()],
                          env=environ, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    tree = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    shutil.rmtree(out)  # the second process writes to the same path: configurations name it
    return tree


def test_two_processes_write_the_same_bytes_for_sources_with_blank_nodes(tmp_path):
    sources = tmp_path / "sources"
    sources.mkdir()
    for path in [*bundled.sources_dir().glob("*.ttl"), FIXTURES / "blank-nodes" / "archive-notes-2011-12-20.ttl"]:
        shutil.copy(path, sources / path.name)
    first = _write_everything(sources, tmp_path / "out", "1")
    second = _write_everything(sources, tmp_path / "out", "2")
    # the record of when each file was last hashed (inodes and times), beside the release
    first.pop(".release.verified"), second.pop(".release.verified")
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    # what was compared holds what it should: documents of every format, dumps, checksums, and
    # the anonymous nodes (published under .well-known/genid/, as they are in the dumps)
    names = set(first)
    for extension in [*GRAPH_FORMATS, *DATASET_FORMATS]:
        assert f"release/dumps/kazdata.{extension}" in names
    for extension in GRAPH_FORMATS:
        assert f"site/site/identity/docs/article/globalpost-2011-12-19.{extension}" in names
    assert "site/site/identity/docs/article/globalpost-2011-12-19.en.html" in names
    assert {"release/SHA256SUMS", "site/SHA256SUMS"} <= names
    assert b".well-known/genid/archive-notes-2011-12-20-" in first["release/dumps/kazdata.nt"]
    # the serialised blank nodes are still the source's graph, in every format
    reference = Graph().parse(data=BLANK_GRAPH, format="nt")
    for extension in GRAPH_FORMATS:
        written = Graph().parse(data=first[f"answers/blank.{extension}"], format=RDFLIB_FORMAT[extension])
        assert isomorphic(reference, written), extension
    for extension in DATASET_FORMATS:
        dataset = Dataset().parse(data=first[f"answers/blank.{extension}"], format=RDFLIB_FORMAT[extension])
        assert isomorphic(reference, dataset.graph(URIRef("https://w3id.org/kazdata/graph/notes"))), extension
    assert any(isinstance(q.subject, ox.BlankNode) for q in ox.parse(
        first["answers/service.nt"], format=ox.RdfFormat.N_TRIPLES))

"""The W3C SHACL test suite (vendored in tests/w3c-shacl/), read from its manifests and run
through ``kazdata.validation.validate_sources``.

The expected outcome of each test comes from the suite's own ``mf:result``, never from kazdata:
either a validation report (``sh:conforms`` and its results) or ``sht:Failure``, where a
processor must refuse the shapes. A run is compared on the verdict and on the set of
(focus node, path, constraint component, value) of its results, blank nodes masked.

Used by tests/test_w3c_shacl.py and by ``python bench/validation.py --suite``.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH

from kazdata.errors import KazdataError
from kazdata.validation import validate_sources
from kazdata.validation.report import term_text
from kazdata.validation.shapes import path_text

SUITE = Path(__file__).resolve().parent / "w3c-shacl"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")
# how each engine is asked: (engine, whether shapes it cannot compile may go to pySHACL)
RUNS = {"default": ("sparql", True), "pyshacl": ("pyshacl", True), "compiled": ("sparql", False)}


@dataclass(frozen=True)
class SuiteTest:
    """One listed test: its name (path under the suite, then the test's local name) and files."""

    name: str
    data: Path
    shapes: Path
    failure: bool  # sht:Failure: the shapes must be refused
    conforms: bool
    results: frozenset[tuple]


def _manifest(path: Path) -> Graph:
    graph = Graph()
    graph.parse(path, format="turtle")
    return graph


def _file(uri) -> Path:
    return Path(str(uri).removeprefix("file://"))


def _shown(term) -> str | None:
    if term is None:
        return None
    if isinstance(term, BNode):
        return "_:blank"
    return term_text(term)


def _expected(graph: Graph, report) -> frozenset[tuple]:
    return frozenset(
        (_shown(graph.value(r, SH.focusNode)), path_text(graph, graph.value(r, SH.resultPath)),
         str(graph.value(r, SH.sourceConstraintComponent)), _shown(graph.value(r, SH.value)))
        for r in graph.objects(report, SH.result))


def listed_tests(manifest: Path = SUITE / "manifest.ttl") -> list[SuiteTest]:
    """Every test the manifests list, following mf:include, in order."""
    graph = _manifest(manifest)
    found: list[SuiteTest] = []
    for included in graph.objects(URIRef(manifest.resolve().as_uri()), MF.include):
        found += listed_tests(_file(included))
    for entries in graph.objects(None, MF.entries):
        for test in Collection(graph, entries):
            action, result = graph.value(test, MF.action), graph.value(test, MF.result)
            failure = result == SHT.Failure
            found.append(SuiteTest(
                name=f"{manifest.resolve().relative_to(SUITE).with_suffix('')}:{str(test).rsplit('/', 1)[-1]}",
                data=_file(graph.value(action, SHT.dataGraph)), shapes=_file(graph.value(action, SHT.shapesGraph)),
                failure=failure,
                conforms=not failure and graph.value(result, SH.conforms) == Literal(True),
                results=frozenset() if failure else _expected(graph, result)))
    return found


def got(report) -> frozenset[tuple]:
    def masked(text):
        return "_:blank" if text and ":" not in text and not text.startswith('"') else text
    return frozenset((masked(v.focus_node), v.path, v.constraint, masked(v.value)) for v in report.violations)


@dataclass(frozen=True)
class Outcome:
    verdict: str  # "right", "wrong", "handed over" (the compiled engine would need pySHACL),
    # "optional, refused" (a feature SHACL lets a processor leave out, refused with a message)
    detail: str = ""


def run(test: SuiteTest, how: str) -> Outcome:
    """Run one test through validate_sources as ``how`` (a key of RUNS) asks."""
    engine, fallback = RUNS[how]
    with tempfile.TemporaryDirectory() as scratch:
        ontology = Path(scratch) / "empty.ttl"
        ontology.write_text("")
        try:
            report = validate_sources([test.data], shapes_paths=[test.shapes], ontology_path=ontology,
                                      engine=engine, fallback=fallback, workers=1)
        except (KazdataError, ValueError) as error:
            text = str(error)
            if test.failure:
                return Outcome("right", text)
            if "would run in pySHACL" in text:
                return Outcome("handed over", text)
            if "$shapesGraph is not supported" in text:  # SHACL 5.3.1 makes $shapesGraph optional
                return Outcome("optional, refused", text)
            return Outcome("wrong", f"refused: {text}")
        except Exception as error:  # noqa: BLE001 - a crash is a wrong answer, counted and shown
            return Outcome("wrong", f"crashed: {type(error).__name__}: {str(error)[:200]}")
    if test.failure:
        return Outcome("wrong", "accepted shapes that SHACL says must be refused")
    results = got(report)
    # SHACL's verdict: no result of any severity (kazdata's build fails on violations only)
    conforms = not report.violations
    if conforms == test.conforms and results == test.results:
        return Outcome("right")
    return Outcome("wrong", f"conforms {conforms} (expected {test.conforms}); "
                            f"extra {sorted(results - test.results)}; missing {sorted(test.results - results)}")


def summary(tests: list[SuiteTest] | None = None) -> dict[str, Counter]:
    """Per way of running: how many tests came out right, wrong, handed over."""
    tests = tests if tests is not None else listed_tests()
    return {how: Counter(run(test, how).verdict for test in tests) for how in RUNS}

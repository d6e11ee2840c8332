"""SPARQL constraints under SHACL's pre-binding, beyond the W3C suite's cases: which queries may run
once over the whole graph, and per-node runs of queries that group or order by $this.

Expected reports are written by hand from the data below (which node lacks what), not computed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kazdata.validation import prebinding, validate_sources

PREFIXES = """@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex: sh:declare [ sh:prefix "ex" ; sh:namespace "http://example.org/"^^xsd:anyURI ] .
ex:a a ex:Thing ; ex:p 1 .
ex:b a ex:Thing .
"""


def _validate(tmp_path: Path, query: str) -> set[str]:
    data = tmp_path / "data.ttl"
    data.write_text(PREFIXES + f'ex:Shape a sh:NodeShape ; sh:targetClass ex:Thing ; sh:sparql [ sh:prefixes ex: ; '
                               f'sh:message "m" ; sh:select """{query}""" ] .\n')
    empty = tmp_path / "empty.ttl"
    empty.write_text("")
    report = validate_sources([data], shapes_paths=[data], ontology_path=empty, workers=1)
    return {v.focus_node for v in report.violations}


@pytest.mark.parametrize("query", [
    # ?this only in an OPTIONAL and an aggregate: run per node, GROUP BY $this written as (<node>)
    "SELECT $this WHERE { OPTIONAL { $this ex:p ?o } } GROUP BY $this HAVING (COUNT(?o) = 0)",
    # ?this only inside FILTER NOT EXISTS: the everyday case the whole-graph run missed
    "SELECT $this WHERE { FILTER NOT EXISTS { $this ex:p ?o } }",
    # proved whole-graph: ?this bound by a triple of the main pattern
    "SELECT $this WHERE { $this a ex:Thing FILTER NOT EXISTS { $this ex:p ?o } } ORDER BY $this",
])
def test_the_node_without_ex_p_is_reported_whatever_the_query_shape(tmp_path, query):
    assert _validate(tmp_path, query) == {"http://example.org/b"}


@pytest.mark.parametrize(("query", "whole"), [
    ("SELECT $this WHERE { $this a ?t }", True),
    ("SELECT $this WHERE { { $this a ?t } UNION { ?s ?p $this } }", True),
    ("SELECT $this WHERE { { $this a ?t } UNION { ?s ?p ?o } }", False),  # one branch leaves ?this free
    ("SELECT $this WHERE { $this <http://example.org/p>* ?x }", False),  # a zero-length path binds anything
    ("SELECT $this WHERE { $this <http://example.org/p>+ ?x }", True),
    ("SELECT $this WHERE { ?x ?y ?z OPTIONAL { $this ?y ?z } }", False),
    ("SELECT $this WHERE { $this ?p ?o { SELECT $this WHERE { $this ?q ?r } LIMIT 1 } }", False),
])
def test_the_whole_graph_run_is_kept_only_where_proved(query, whole):
    assert prebinding.whole_graph_equivalent(prebinding.check(query)) is whole

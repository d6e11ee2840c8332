"""How many planted bugs the tests catch: every mutant of the modules where a silent bug hurts users most.

    python bench/mutation.py                       # every module below, one after another (hours on 2 busy cores)
    python bench/mutation.py results negotiation   # some of them, by the names below
    python bench/mutation.py results --only 7 12   # chosen mutants of one module (``--list`` numbers them)
    python bench/mutation.py --prove               # the tool's own check: a bug the tests must catch is caught

The repository is copied to a temporary folder. Each mutant (``bench/mutants.py``) is written into
the copy's module, one at a time, and the tests aimed at that module are run in the copy with
``PYTHONPATH`` naming it, so the test process and every server it starts (``python -m kazdata``
inherits the environment) import the mutated code; a failing test, an error or a run past the
time limit kills the mutant. Before the mutants, the unmutated copy must pass the same tests, and
``kazdata`` must import from the copy. The score (killed / all) and each surviving mutant are
printed, and written to ``bench/results/mutation-MODULE.json``. Why not mutmut: decision 016.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutants import Mutant, mutants

ROOT = Path(__file__).resolve().parent.parent
IGNORED_EVERYWHERE = shutil.ignore_patterns("__pycache__", ".mypy_cache", ".ruff_cache", ".hypothesis", "*.egg-info",
                                            "node_modules")
#: the served release and measured results at the top of the checkout, not kazdata/release
IGNORED_AT = {ROOT: {".git", "release", "mutants"}, ROOT / "bench": {"results"}}


def _ignored(folder: str, names: list[str]) -> set[str]:
    return set(IGNORED_EVERYWHERE(folder, names)) | (IGNORED_AT.get(Path(folder), set()) & set(names))

STOP = threading.Event()
T = "tests/"
#: first in every selection: the in-process tests written for survivors, where most mutants die in
#: milliseconds, before any test server is started
KILLS = f"{T}test_mutation_kills.py"
#: module name -> (file to mutate, the tests aimed at it). Those tests check the module with expected
#: values from outside it; the whole suite would catch more, at a hundred times the cost per mutant.
MODULES: dict[str, tuple[str, list[str]]] = {
    "results": ("kazdata/sparql/results.py", [KILLS,
        f"{T}test_every_term.py",
        f"{T}test_independent_expectations.py::test_typed_literals_keep_their_datatypes_in_results",
        f"{T}test_independent_expectations.py::test_json_results_equal_pyoxigraphs_own_serialisation",
        f"{T}test_sparql.py::test_results_parse_with_oxigraph",
        f"{T}test_sparql.py::test_sparqlwrapper_select_in_every_results_format",
        f"{T}test_sparql.py::test_sparqlwrapper_ask",
        f"{T}test_sparql.py::test_result_limit_truncates_with_a_signal"]),
    "negotiation": ("kazdata/web/negotiation.py", [KILLS,
        f"{T}test_linked_data.py::test_every_entity_redirects_and_negotiates_every_format",
        f"{T}test_linked_data.py::test_negotiation_honours_q_values_and_wildcards",
        f"{T}test_linked_data.py::test_unacceptable_type_is_406_listing_the_offer",
        f"{T}test_linked_data.py::test_conditional_requests_gzip_and_head",
        f"{T}test_linked_data.py::test_html_language_follows_accept_language",
        f"{T}test_ordinary_use.py::test_accept_parameters_are_understood",
        f"{T}test_ordinary_use.py::test_a_charset_other_than_utf8_is_not_acceptable",
        f"{T}test_ordinary_use.py::test_sparql_results_accept_with_parameters",
        f"{T}test_ordinary_use.py::test_the_406_body_lists_each_offered_type_once",
        f"{T}test_ordinary_use.py::test_n3_and_json_suffixes_are_refused_alike_everywhere"]),
    "formats": ("kazdata/formats.py", [f"{T}test_formats.py", KILLS,
        f"{T}test_registries.py", f"{T}test_every_term.py",
        f"{T}test_linked_data.py::test_every_entity_redirects_and_negotiates_every_format",
        f"{T}test_published_bodies.py"]),
    "policy": ("kazdata/sparql/policy.py", [KILLS,
        f"{T}test_sparql.py::test_protocol_errors", f"{T}test_sparql.py::test_result_limit_truncates_with_a_signal",
        f"{T}test_security.py"]),
    "query_check": ("kazdata/sparql/query_check.py", [f"{T}test_query_check.py", KILLS,
        f"{T}test_security.py", f"{T}test_hostile_queries.py::test_no_variant_from_the_issue_makes_the_server_connect",
        f"{T}test_hostile_queries.py::test_deep_nesting_is_refused_before_evaluation",
        f"{T}test_hostile_queries.py::test_escapes_that_name_no_character_get_a_400",
        f"{T}test_hostile_queries.py::test_an_allow_listed_service_is_called_and_nothing_else",
        f"{T}test_sparql.py::test_every_update_form_is_refused",
        f"{T}test_sparql.py::test_service_is_refused_and_remote_from_is_an_empty_graph_without_a_request"]),
    "documents": ("kazdata/builder/documents.py", [KILLS,
        f"{T}test_independent_expectations.py::test_every_entity_document_says_what_it_is_about_and_where_it_belongs",
        f"{T}test_independent_expectations.py::test_a_document_names_its_entity_in_every_format",
        f"{T}test_independent_expectations.py::test_the_sitemap_lists_every_entity_document_and_page",
        f"{T}test_build.py::test_every_entity_document_is_stored_once_and_read_by_name",
        f"{T}test_linked_data.py::test_no_internal_link_from_the_home_page_is_broken"]),
    # what a live server's SELECT and CONSTRUCT answers are cut and written with (pyoxigraph's
    # writers; ``results`` above writes only a remote store's rows)
    "answers": ("kazdata/sparql/answers.py", [
        f"{T}test_truncation.py::test_the_cut_keeps_exactly_the_limit_whatever_the_writers_pieces",
        f"{T}test_every_term.py", f"{T}test_truncation.py",
        f"{T}test_independent_expectations.py::test_typed_literals_keep_their_datatypes_in_results",
        f"{T}test_independent_expectations.py::test_json_results_equal_pyoxigraphs_own_serialisation"]),
    # what an entity document holds (``documents`` above stores the documents this writes)
    "description": ("kazdata/entities/description.py", [
        f"{T}test_independent_expectations.py::test_every_entity_document_says_what_it_is_about_and_where_it_belongs",
        f"{T}test_independent_expectations.py::test_a_document_names_its_entity_in_every_format",
        f"{T}test_independent_expectations.py::test_a_document_holds_the_blank_nodes_its_entity_reaches_however_deep",
        f"{T}test_linked_data.py::test_document_holds_cbd_labels_of_links_and_incoming_links",
        f"{T}test_entity_records.py"]),
    "verdicts": ("kazdata/runtime/verdicts.py", [f"{T}test_verdicts.py",
        f"{T}test_query.py::test_a_verdict_one_query_process_reached_is_not_checked_again_by_another",
        f"{T}test_query.py::test_a_text_checked_once_is_not_parsed_again"]),
    "checksums": ("kazdata/release/checksums.py", [KILLS,
        f"{T}test_release_opening.py", f"{T}test_build.py::test_checksums_verify_with_sha256sum"]),
    "publish": ("kazdata/release/publish.py", [KILLS,
        f"{T}test_release_opening.py::test_publish_renews_the_record"]),
    "opened": ("kazdata/release/opened.py", [f"{T}test_opened_release.py", KILLS,
        f"{T}test_release_opening.py", f"{T}test_published_bodies.py",
        f"{T}test_linked_data.py::test_dumps_support_ranges_and_checksums"]),
    "settings": ("kazdata/settings.py", [KILLS,
        f"{T}test_cli.py::test_every_setting_is_documented_in_the_readme",
        f"{T}test_release_opening.py::test_the_verify_setting",
        f"{T}test_release_opening.py::test_an_unknown_verify_setting_is_refused"]),
}
#: pytest without the plugins the selections do not use (a second off each of hundreds of runs);
#: -x: the first failure kills the mutant.
PYTEST = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "hypothesis.extra.pytestplugin"]


class Copy:
    """The repository copied to a temporary folder, where one module's text is swapped at a time."""

    def __init__(self, folder: Path) -> None:
        self.root = folder / "repo"
        shutil.copytree(ROOT, self.root, ignore=_ignored)
        # gw5: conftest hands out ports from worker 5's range, which no ``-n 2`` run of the suite
        # uses: a test server of another run on the same port (granian binds with SO_REUSEPORT)
        # would answer some of this run's requests with unmutated code
        self.env = {**os.environ, "PYTHONPATH": str(self.root), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                    "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_XDIST_WORKER": "gw5"}

    def imported_from(self) -> str:
        """Where ``python -m kazdata`` started with the copy's environment imports kazdata from."""
        code = "import kazdata, pathlib; print(pathlib.Path(kazdata.__file__).parent.parent)"
        return subprocess.run([sys.executable, "-c", code], cwd=self.root, env=self.env, capture_output=True,
                              text=True, check=True).stdout.strip()

    def run_tests(self, tests: list[str], seconds: float) -> tuple[str, float, str]:
        """('passed' | 'failed' | 'timeout', seconds taken, the output's last lines).

        pytest runs in a child forked from this process, which has imported the libraries the
        tests use (``warm``) but no kazdata and no test module: the child imports those from the
        copy, as written now, and skips the second or more that importing rdflib, pyoxigraph,
        Flask and pytest costs on every run."""
        started = time.monotonic()
        with tempfile.TemporaryFile() as output:
            pid = os.fork()
            if pid == 0:  # the child: never returns
                self._child(tests, output.fileno())
            try:
                code = _wait(pid, started + seconds)
            finally:
                _kill_group(pid)
            output.seek(0)
            out = output.read()[-2000:].decode(errors="replace")
        state = "timeout" if code is None else "passed" if code == 0 else "failed"
        return state, time.monotonic() - started, out

    def _child(self, tests: list[str], fd: int) -> None:
        code = 3
        try:
            os.setsid()
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.chdir(self.root)
            os.environ.update(self.env)
            sys.path.insert(0, str(self.root))
            import pytest
            code = int(pytest.main([*PYTEST[3:], *tests]))
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def warm() -> None:
    """Import what every test run imports, before forking the runs (none of it is mutated)."""
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    for name in ("pytest", "hypothesis", "hypothesis.extra.pytestplugin", "pyoxigraph", "rdflib",
                 "rdflib.plugins.sparql", "flask", "werkzeug", "requests", "jinja2", "SPARQLWrapper", "pyparsing"):
        __import__(name)
    assert not any(name == "kazdata" or name.startswith(("kazdata.", "tests")) for name in sys.modules)


def _wait(pid: int, deadline: float) -> int | None:
    """The child's exit status, or None when it ran past the deadline (it is killed)."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.05)


def _kill_group(pgid: int) -> None:
    """Servers a test run left behind share its process group: end them, and wait until they have
    ended, so that none holds a port the next run is handed."""
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            os.killpg(pgid, signal.SIGKILL)
            time.sleep(0.05)
    except ProcessLookupError:
        pass


def run(name: str, only: list[int] | None, every: int = 1) -> dict:
    module, tests = MODULES[name]
    tests = [test for test in tests if (ROOT / test.split("::")[0]).exists()]
    with tempfile.TemporaryDirectory(prefix=f"kazdata-mutation-{name}-") as folder:
        copy = Copy(Path(folder))
        assert copy.imported_from() == str(copy.root), f"kazdata imported from {copy.imported_from()}, not the copy"
        target = copy.root / module
        source = target.read_bytes()
        state, baseline, out = copy.run_tests(tests, 600)
        if state != "passed":
            sys.exit(f"{name}: the unmutated copy fails its tests ({state}):\n{out}")
        print(f"{name} ({module}): tests pass unmutated in {baseline:.0f} s; kazdata imported from the copy",
              flush=True)
        chosen = [mutant for mutant in mutants(source) if (not only or mutant.number in only)
                  and (mutant.number - 1) % every == 0]
        outcomes: dict[int, str] = {}
        started = time.monotonic()
        try:
            for mutant in chosen:
                if STOP.is_set():  # kill -TERM: report the mutants run so far
                    print(f"  stopped: {len(outcomes)} of {len(chosen)} mutants run", flush=True)
                    chosen = [m for m in chosen if m.number in outcomes]
                    break
                target.write_bytes(mutant.apply(source))
                state, seconds, _ = copy.run_tests(tests, 2 * baseline + 30)
                outcomes[mutant.number] = {"failed": "killed", "timeout": "killed (time limit)"}.get(state, "survived")
                print(f"  {mutant.number:4d} line {mutant.line:4d} {outcomes[mutant.number]:20s} {seconds:5.1f} s "
                      f"{mutant.what}", flush=True)
        finally:
            target.write_bytes(source)
        recheck(name, copy, tests, source, chosen, outcomes, baseline)
        result = report(name, module, source, chosen, outcomes, time.monotonic() - started)
        result["sample"] = f"every {every}th of {len(mutants(source))}" if every > 1 else "all"
        return result


def recheck(name: str, copy: Copy, tests: list[str], source: bytes, chosen: list[Mutant], outcomes: dict[int, str],
            baseline: float) -> None:
    """Each survivor once more, so that a survivor is never a run that went wrong by chance."""
    target = copy.root / MODULES[name][0]
    try:
        for mutant in chosen:
            if outcomes[mutant.number] == "survived":
                target.write_bytes(mutant.apply(source))
                state, _, _ = copy.run_tests(tests, 2 * baseline + 30)
                if state != "passed":
                    outcomes[mutant.number] = "killed (second run)"
                    print(f"  {mutant.number:4d} killed on the second run", flush=True)
    finally:
        target.write_bytes(source)


def report(name: str, module: str, source: bytes, chosen: list[Mutant], outcomes: dict[int, str],
           seconds: float) -> dict:
    killed = sum(outcome.startswith("killed") for outcome in outcomes.values())
    survivors = [mutant for mutant in chosen if outcomes[mutant.number] == "survived"]
    share = f"{100 * killed / len(chosen):.0f}%" if chosen else "no mutants"
    print(f"{name} ({module}): {killed}/{len(chosen)} killed, {share}, {seconds:.0f} s")
    for mutant in survivors:
        print(f"  survived #{mutant.number} {mutant.describe(source)}")
    return {"module": module, "killed": killed, "mutants": len(chosen), "seconds": round(seconds),
            "survivors": [{"number": mutant.number, "diff": mutant.describe(source)} for mutant in survivors]}


def prove() -> None:
    """A mutant the tests must kill (JSON results without their literals' datatypes: issue 16's third
    planted bug, in the writer of a remote store's rows) is reported killed, and a run of
    the same tests on the unmutated copy passes: the tool sees the bugs it plants."""
    source = (ROOT / MODULES["results"][0]).read_bytes()
    planted = [mutant for mutant in mutants(source) if b'"datatype"' in source[mutant.start:mutant.end]
               and mutant.what == "string changed"]
    assert planted, "no mutant renames the JSON datatype key"
    result = run("results", [planted[0].number])
    assert result["killed"] == 1, "the planted mutant survived: the tool does not test the mutated code"
    print("proved: the planted mutant was killed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help=f"which modules (default: all): {', '.join(MODULES)}")
    parser.add_argument("--only", nargs="+", type=int, help="only these mutants (of one module)")
    parser.add_argument("--every", type=int, default=1,
                        help="a sample: every Nth mutant (1, 1+N, ...), for a quicker estimate of the score")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--prove", action="store_true", help="check the tool kills a planted mutant")
    arguments = parser.parse_args()
    # stopped with kill -TERM: the mutant under test is finished, and the score of those run printed
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    if arguments.prove:
        warm()
        prove()
        return
    names = arguments.modules or list(MODULES)
    unknown = [name for name in names if name not in MODULES]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    if arguments.list:
        for name in names:
            source = (ROOT / MODULES[name][0]).read_bytes()
            for mutant in mutants(source):
                print(f"{name} #{mutant.number} {mutant.describe(source)}")
        return
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    warm()
    for name in names:
        result = run(name, arguments.only, arguments.every)
        if not arguments.only:
            (results / f"mutation-{name}.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()

"""The ``kazdata`` command: build, validate, serve; each a thin call into the modules that own it."""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kazdata.errors import KazdataError
from kazdata.settings import SETTINGS, Settings, load_settings
from kazdata.sources import bundled


def _flag_parser(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """The setting's parser, its ValueError shown by argparse as the message it is (argparse
    would otherwise print only "invalid value")."""
    def parse_flag(value: str) -> Any:
        try:
            return parse(value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return parse_flag


def _add_setting_flags(parser: argparse.ArgumentParser, names: tuple[str, ...]) -> None:
    """Flags come from the settings table, so their help and defaults cannot drift from it."""
    for setting in SETTINGS:
        if setting.name in names:
            parser.add_argument(setting.flag, dest=setting.name, default=None, type=_flag_parser(setting.parse),
                                help=f"{setting.help} [env {setting.env}; default {setting.shown_default}]")


def _sources_dir(settings: Settings) -> Path:
    """The sources folder by the one rule (``bundled.choose_sources``), said on stderr first."""
    chosen = bundled.choose_sources(settings.sources)
    print(f"kazdata: {chosen}", file=sys.stderr, flush=True)
    return chosen.path


def cmd_build(args: argparse.Namespace) -> int:
    from kazdata.builder import build_release
    from kazdata.builder.release_info import resolve_release_info
    from kazdata.builder.replaceable import check_replaceable
    settings = load_settings({"base": args.base, "sources": args.sources})
    check_replaceable(Path(args.out))
    info = resolve_release_info(args.version, args.issued, Path(args.previous) if args.previous else None)
    build_release(Path(args.out), sources_dir=_sources_dir(settings), base=settings.base, with_store=args.store,
                  shapes_paths=_shapes(args), info=info)
    return 0


def _release_flag(name: str) -> Callable[[str], Any]:
    """``--version`` / ``--issued``, parsed by ``kazdata.builder.release_info`` (imported late: the
    command line starts fast)."""
    def parse(value: str) -> Any:
        from kazdata.builder import release_info
        return getattr(release_info, name)(value)
    return _flag_parser(parse)


def _shapes(args: argparse.Namespace) -> list[Path] | None:
    """The bundled shapes plus each --shapes file (a curator's own rules), or None for the bundled only."""
    from kazdata.sources import bundled
    extra = [Path(p) for p in args.shapes or ()]
    return [*bundled.shapes_files(), *extra] if extra else None


def cmd_validate(args: argparse.Namespace) -> int:
    from kazdata.sources.curated import discover_sources
    from kazdata.validation import validate_sources
    from kazdata.validation.report import once_each
    settings = load_settings({"sources": args.sources})
    paths = [Path(p) for p in args.files] or discover_sources(_sources_dir(settings))
    report = validate_sources(paths, shapes_paths=_shapes(args))
    violations = once_each(report.violations)
    for violation in violations:
        print(violation)
    errors = sum(v.severity == "Violation" for v in violations)
    print(f"{len(paths)} file(s) checked: {errors} violation(s), "
          f"{len(violations) - errors} warning(s)/info(s)")
    return 0 if report.conforms else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from kazdata.runtime.serve import serve
    names = [s.name for s in SETTINGS]
    settings = load_settings({name: getattr(args, name, None) for name in names})
    return serve(settings, dev=args.dev, build_missing=args.build_missing)


def cmd_generate(args: argparse.Namespace) -> int:
    from kazdata.sources.generate import generate
    for path in generate(args.events, Path(args.out), seed=args.seed):
        print(path)
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from kazdata.release.opened import Release
    from kazdata.sparql.backends.graph_store import GraphStore, LoadedGraph, load_release, read_credentials
    settings = load_settings({"store_credentials": args.store_credentials})
    release = Release(Path(args.release), verify="full")
    credentials = read_credentials(settings.store_credentials) if settings.store_credentials else None
    store = GraphStore(args.endpoint, args.update_endpoint, credentials)
    total, done, sent = len(release.graphs), itertools.count(1), [time.monotonic()]

    def progress(loaded: LoadedGraph) -> None:
        print(f"{loaded.triples:>9} triples -> <{loaded.graph}> ({next(done)}/{total}, {loaded.seconds:.1f} s)",
              flush=True)
        sent[0] = time.monotonic()

    load_release(release, store, progress=progress)
    print(f"switched: every graph now holds this release (the switch took {time.monotonic() - sent[0]:.1f} s)"
          if args.update_endpoint else "each graph was replaced in place as it was sent", flush=True)
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from kazdata.release.publish import publish
    kept = publish(Path(args.release), Path(args.to), Path(args.history) if args.history else None)
    print(f"{args.to} -> {kept.resolve()}")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    from kazdata.release.history import default_folder, prune
    link = Path(args.to)
    folder = Path(args.history) if args.history else default_folder(link)
    for version in prune(folder, args.versions, link):
        print(f"removed {folder / version}")
    return 0


def cmd_package(args: argparse.Namespace) -> int:
    from kazdata.release.package import package
    bag = package(Path(args.release), Path(args.out), contact_name=args.contact_name, contact_email=args.contact_email)
    print(f"{args.out}: a valid BagIt bag of {len(bag.payload_entries())} files "
          f"(Payload-Oxum {bag.info['Payload-Oxum']}), manifests {', '.join(bag.algorithms)}")
    return 0


def cmd_export_static(args: argparse.Namespace) -> int:
    from kazdata.export.static_site import export_static
    settings = load_settings({"release": args.release, "public_url": args.public_url})
    out = export_static(settings.release, Path(args.out), listen=args.listen,
                        sparql_upstream=args.sparql_upstream, public_url=settings.public_url)
    print(f"exported to {out}; serve it with: nginx -p {out} -c {out}/nginx.conf")
    return 0


@dataclass(frozen=True)
class Command:
    """One subcommand as data: its texts, its own arguments, the settings it takes as flags."""

    name: str
    run: Callable[[argparse.Namespace], int]
    help: str
    description: str
    arguments: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = ()
    settings: tuple[str, ...] = ()


def _argument(*names: str, **options: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    return names, options


_SHAPES = _argument("--shapes", action="append", metavar="FILE",
                    help="also validate with this SHACL shapes file (repeatable); the bundled shapes always apply")

_HISTORY = _argument("--history", metavar="DIR",
                     help="the folder of kept releases (default: `releases` beside the --to symlink)")

COMMANDS: tuple[Command, ...] = (
    Command("build", cmd_build, "validate the sources and write a release",
            "Validate the sources with the SHACL shapes and write a release (dumps, VoID/DCAT, entity "
            "documents, SHA256SUMS) to OUT. A failed build leaves OUT as it was.",
            (_argument("out", help="release directory to write"),
             _argument("--store", action="store_true",
                       help="also write the RocksDB store that `kazdata serve --backend disk` opens read-only"),
             _argument("--version", type=_release_flag("parse_version"),
                       help="the release's version, e.g. 1.2.0 (default: owl:versionInfo in data/dataset.ttl, "
                            "else the first 12 hex digits of the N-Quads dump's SHA-256)"),
             _argument("--issued", type=_release_flag("parse_issued"), metavar="YYYY-MM-DD",
                       help="the release's issue date (default: dcterms:issued in data/dataset.ttl, else "
                            "SOURCE_DATE_EPOCH; never the clock, so that builds stay reproducible)"),
             _argument("--previous", metavar="REL",
                       help="the release directory this release follows: its version becomes dcat:previousVersion"),
             _SHAPES),
            ("base", "sources")),
    Command("validate", cmd_validate, "check the sources against the shapes",
            "Validate source files against the SHACL shapes and print each violation with file, node, "
            "path, value and rule. Exit status 1 on any violation.",
            (_argument("files", nargs="*", help="Turtle files (default: every source)"), _SHAPES), ("sources",)),
    Command("serve", cmd_serve, "serve a release over HTTP",
            "Serve a release as Linked Data and SPARQL under the production server (granian, or gunicorn "
            "with --server). Every setting is checked before anything starts: a missing release, a taken "
            "port or a value out of range is one line and exit status 1.",
            (_argument("--dev", action="store_true", help="use Flask's development server instead"),
             _argument("--build-missing", action="store_true",
                       help="build a release from the sources first when --release does not exist "
                            "(what `python server.py` does)")),
            tuple(s.name for s in SETTINGS)),
    Command("generate", cmd_generate, "write a synthetic, SHACL-valid event dataset",
            "Write a deterministic (seeded) synthetic event dataset in kazdata's vocabulary to OUT, one "
            "source file per 1,000 events, for tests and benchmarks (`kazdata build REL --sources OUT`).",
            (_argument("out", help="folder to write the source files to"),
             _argument("--events", type=int, required=True, help="how many events"),
             _argument("--seed", type=int, default=2011, help="random seed (default 2011)"))),
    Command("load", cmd_load, "push a release into a remote triple store",
            "Verify RELEASE, then PUT each of its graphs into a SPARQL 1.1 Graph Store (replacing graphs of "
            "the same name), for `kazdata serve --backend remote --endpoint QUERY_URL`.",
            (_argument("release", nargs="?", default="release", help="release directory (default: release)"),
             _argument("--endpoint", required=True,
                       help="the store's Graph Store Protocol URL, e.g. http://127.0.0.1:7878/store"),
             _argument("--update-endpoint", metavar="URL",
                       help="the store's SPARQL Update URL: load under staging names, then move every graph "
                            "onto its own at the end, so a failed load changes nothing served")),
            ("store_credentials",)),
    Command("publish", cmd_publish, "switch a served release path to a new release",
            "Keep RELEASE in the history of releases (HISTORY/VERSION, hard-linked where possible), verify "
            "that copy against its SHA256SUMS, then atomically repoint the symlink TO at it. A server "
            "started with `--release TO` switches within a second, without failing a request, and keeps "
            "serving every release of the history at /releases/VERSION/. Nothing is deleted (`kazdata prune`).",
            (_argument("release", help="a release directory written by `kazdata build`"),
             _argument("--to", required=True, help="the symlink the server serves (created if missing)"),
             _HISTORY)),
    Command("prune", cmd_prune, "remove releases from the history",
            "Remove the named versions from the history of releases (first from its index, then from "
            "disk). The version TO serves is refused: publish another first.",
            (_argument("versions", nargs="+", metavar="VERSION", help="a kept version to remove"),
             _argument("--to", required=True, help="the symlink the server serves"), _HISTORY)),
    Command("package", cmd_package, "write a release as a BagIt bag for an archive",
            "Verify RELEASE, then write OUT, a BagIt bag (RFC 8493) of its dumps, VoID/DCAT description, "
            "shapes, ontology, change set, DataCite metadata, a README and the citation, with SHA-256 and "
            "SHA-512 manifests and bag-info.txt; the bag is validated with bagit's own validator.",
            (_argument("release", help="a release directory (or the symlink a server serves)"),
             _argument("out", help="the bag's folder (must not exist)"),
             _argument("--contact-name", help="bag-info Contact-Name (default: the dataset's publisher)"),
             _argument("--contact-email", help="bag-info Contact-Email (default: none)"))),
    Command("export-static", cmd_export_static, "write every document and an nginx configuration",
            "Write every document of a release in every format, the dumps and pages, and an nginx "
            "configuration that dereferences and negotiates as `kazdata serve` does, to OUT (run it with "
            "`nginx -p OUT -c OUT/nginx.conf`). /sparql is proxied to a kazdata server.",
            (_argument("out", help="folder to write (a previous export there is replaced)"),
             _argument("--listen", default="127.0.0.1:8080",
                       help="nginx listen address, HOST:PORT or PORT (default 127.0.0.1:8080)"),
             _argument("--sparql-upstream", default="http://127.0.0.1:5000",
                       help="kazdata server that answers /sparql (default http://127.0.0.1:5000)")),
            ("release", "public_url")),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kazdata", description=(
        "Publish the kazdata knowledge graph: validate curated sources, build an immutable "
        "release, and serve it as Linked Data with a SPARQL endpoint."))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = commands.add_parser(command.name, help=command.help, description=command.description)
        for names, options in command.arguments:
            sub.add_argument(*names, **options)
        _add_setting_flags(sub, command.settings)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (KazdataError, ValueError, FileNotFoundError) as error:
        print(f"kazdata: {getattr(error, 'message', error)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

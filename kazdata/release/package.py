"""``kazdata package REL OUT``: a release as a BagIt bag (RFC 8493) an archive's ingest accepts.

The bag holds what an archive needs to keep and reuse the release without kazdata: the dumps,
the VoID/DCAT description, the shapes and the ontology, the change set (if the release has
one), the DataCite metadata, the release's own SHA256SUMS, a README and the citation (text,
BibTeX, CSL-JSON). It is written by the Library of Congress's ``bagit`` library, with SHA-256
and SHA-512 manifests for the payload and the tag files, and ``bag-info.txt`` naming the
source organisation and contact (the description's publisher, or ``--contact-*``), the
external identifier (the release's version IRI), the bagging date and the Payload-Oxum. It is
validated by ``bagit`` itself before the command reports success.

Only the release's own files are copied, after the release is verified against its
SHA256SUMS: a bag of a tampered release is never written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import bagit
import pyoxigraph as ox

from kazdata.errors import ReleaseError
from kazdata.release.checksums import CHECKSUMS
from kazdata.release.citation import citation_of
from kazdata.release.opened import Release

#: the release's files a bag carries, by prefix or name (the rest serve the server: pages, packs)
PAYLOAD = ("dumps/", "changes/", "void.", "shapes.", "ontology.", "context.jsonld", "datacite.json", CHECKSUMS)
ALGORITHMS = ["sha256", "sha512"]
_README = """This bag holds release {version} (issued {issued}) of the kazdata dataset:
{title}.

Identifier: {identifier}
Licence: see void.ttl (dcterms:license) and LICENSE-DATA.txt.

data/dumps/        the whole dataset in Turtle, N-Triples, JSON-LD, RDF/XML, TriG and N-Quads
                   (each also gzipped); the named graphs hold one source each
data/void.*        the VoID/DCAT description: version, date, sizes and SHA-256 of every dump
data/shapes.*      the SHACL shapes the data was validated with
data/ontology.*    the ontology
data/changes/      (if present) what changed since the previous release, as N-Quads per graph,
                   one RDF Patch and a JSON summary per entity
data/SHA256SUMS    the release's own checksums (some of its files are not in this bag)
data/CITATION.*    how to cite this release

Cite it as:
{citation}
"""


def _description(release: Release) -> list[ox.Triple]:
    return list(ox.parse(path=str(release.directory / "void.nt"), format=ox.RdfFormat.N_TRIPLES))


def _rights(triples: list[ox.Triple], dataset: str) -> str:
    """The description's licence and rights note, as text."""
    values = {t.predicate.value.rsplit("/", 1)[-1]: str(t.object.value) for t in triples
              if t.subject == ox.NamedNode(dataset) and t.predicate.value.endswith(("/license", "/rights"))
              and isinstance(t.object, ox.NamedNode)}
    rights = ox.NamedNode(values.get("rights", dataset))
    notes = [t.object.value for t in triples if t.subject == rights and isinstance(t.object, ox.Literal)]
    return f"Licence: {values.get('license', 'not stated')}\n" + "".join(f"\n{note}\n" for note in notes)


def package(release_dir: Path, out: Path, *, contact_name: str | None = None,
            contact_email: str | None = None) -> bagit.Bag:
    """Write the bag of ``release_dir`` to ``out`` (which must not exist) and return it, validated.

    Raises ReleaseError when the release does not verify, ``out`` exists, or the bag written
    does not validate (then nothing is left at ``out``).
    """
    release = Release(Path(release_dir), verify="full")
    if out.exists():
        raise ReleaseError(f"{out} exists: a bag is written to a new folder")
    triples = _description(release)
    dataset = f"{release.base}dataset"
    citation = citation_of(triples, dataset)
    staging = out.with_name(f".{out.name}.bagging")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for name in sorted(release.digests):
            if name.startswith(PAYLOAD) or name == CHECKSUMS:
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(release.directory / name, target)
        shutil.copyfile(release.directory / CHECKSUMS, staging / CHECKSUMS)
        (staging / "CITATION.txt").write_text(citation.text() + "\n", encoding="utf-8")
        (staging / "CITATION.bib").write_text(citation.bibtex(), encoding="utf-8")
        (staging / "CITATION.json").write_text(citation.csl_json(), encoding="utf-8")
        (staging / "LICENSE-DATA.txt").write_text(_rights(triples, dataset), encoding="utf-8")
        (staging / "README.txt").write_text(_README.format(
            version=release.version, issued=release.issued, title=citation.title,
            identifier=f"{release.base}releases/{release.version}", citation=citation.text()), encoding="utf-8")
        info = {"Source-Organization": citation.publisher, "Contact-Name": contact_name or citation.publisher,
                "External-Identifier": f"{release.base}releases/{release.version}",
                "External-Description": f"kazdata release {release.version}, issued {release.issued}",
                "Bag-Group-Identifier": dataset, "Version": release.version}
        if contact_email:
            info["Contact-Email"] = contact_email
        bagit.make_bag(str(staging), info, checksums=ALGORITHMS)
        bag = bagit.Bag(str(staging))
        bag.validate()
        staging.rename(out)
    except (OSError, bagit.BagError) as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise ReleaseError(f"the bag of {release.directory} could not be written: {error}") from None
    return bagit.Bag(str(out))

"""Competency questions: each query in ``data/queries`` answers its question from the published dump.

The query files are also the example queries of the SPARQL endpoint, so every one of them is run
here, unchanged and with no predeclared prefix, against the N-Quads dump loaded into a bare
Oxigraph store (the ``bare_store`` fixture: any SPARQL 1.1 engine would do), and its answer checked
against what the GlobalPost article of 19 December 2011 says (``data/sources/globalpost-2011-12-19.ttl``).

Other sources add rows to the same questions (more articles, more claims about the same events),
so a check asks that the article's rows be among the answers rather than be the only ones, except
where the article's own entities pin the answer down.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox
import pytest

from kazdata.vocabulary import PREFIXES

QUERY_DIR = Path(__file__).resolve().parents[1] / "data" / "queries"
QUERY_FILES = sorted(QUERY_DIR.glob("*.rq"))
REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data" / "reference"
ARTICLE_TEXT = REFERENCE_DIR / "article.txt"  # the article as stored, word for word

KD = PREFIXES["kd"]
KAZ = PREFIXES["kaz"]
WD = PREFIXES["wd"]
GN = PREFIXES["gn"]

ARTICLE = KD + "article/globalpost-2011-12-19"
HEADLINE = "Kazakhstan oil workers protest police crackdown"
# the stored copy of the article (GlobalPost's stories moved to PRI's site): data/reference/README.md
ARTICLE_URL = "https://www.pri.org/stories/2011-12-19/kazakhstan-oil-workers-protest-police-crackdown"
NYT, REUTERS, AP, GLOBALPOST = "The New York Times", "Reuters", "The Associated Press", "GlobalPost"

STRIKE = "Oil workers' strike in Mangystau Region, since May 2011"
CLASHES = "Clashes with police in Mangystau Region, 16-17 December 2011"
DISPUTE = "Dispute over holiday decorations in Zhanaozen, 16 December 2011"
ZHANAOZEN_SHOOTING = "Police shooting on the central square of Zhanaozen, 16 December 2011"
ARSON = "Arson in Zhanaozen after the clash in the square, December 2011"
BLOCKADE = "Railway blockade in Shetpe, 17 December 2011"
SHETPE_SHOOTING = "Police shooting in Shetpe, 17 December 2011"
AKTAU_PROTEST = "Oil workers' protest in Aktau against the police crackdown, December 2011"
EMERGENCY = "State of emergency in Zhanaozen, declared 17 December 2011"
KASYMOV_STATEMENT = "Statement by Interior Minister Kalmukhambet Kasymov on the Zhanaozen shooting"
AZUBALIS_STATEMENT = ("Statement by OSCE chairperson-in-office Audronius Azubalis "
                      "on the handling of the situation")
KREMLIN_MEETING = "Meeting at the Moscow Kremlin attended by Nursultan Nazarbayev, 19 December 2011"

# the two passages the article quotes around "he told the AP": two quotations, not one
KASYMOV_QUOTES = ("Nobody specifically gave the order to open fire in that situation",
                  "Every police officer took the decision themselves. When they take a weapon off you, "
                  "there is no need for an order to be issued.")
AZUBALIS_QUOTE = ("Any action to control crowds by law enforcement should be proportionate and in line "
                  "with international human rights standards")
SLOGAN = "Don\u2019t Shoot the People"

Row = dict[str, str | None]
Answer = list[Row] | bool


@pytest.fixture(scope="module")
def bare_store(release_dir: Path) -> ox.Store:
    """The release's N-Quads dump in a store that knows no prefix. Its default graph is the union
    of the named graphs, as the endpoint's is."""
    store = ox.Store()
    store.bulk_load(path=str(release_dir / "dumps" / "kazdata.nq"), format=ox.RdfFormat.N_QUADS)
    return store


def run(store: ox.Store, path: Path) -> Answer:
    """The answer of one query file, run as it is, with no predeclared prefix: a boolean for ASK,
    else rows of variable -> lexical value (None if unbound)."""
    result = store.query(path.read_text(encoding="utf-8"), use_default_graph_as_union=True)
    if isinstance(result, ox.QueryBoolean):
        return bool(result)
    names = [variable.value for variable in result.variables]
    return [{name: (solution[name].value if solution[name] is not None else None) for name in names}
            for solution in result]


def assert_has_row(rows: list[Row], **expected: str | None) -> Row:
    """Assert that some row has all the ``expected`` values (None = unbound); return the first such row."""
    for row in rows:
        if all(row.get(name) == value for name, value in expected.items()):
            return row
    raise AssertionError(f"no row with {expected!r} among {len(rows)} rows: {rows!r}")


def column(rows: list[Row], name: str, **where: str | None) -> set[str | None]:
    """The values of column ``name`` in the rows that have the ``where`` values."""
    return {row[name] for row in rows if all(row.get(k) == v for k, v in where.items())}


CHECKS: dict[str, Callable[[Answer], None]] = {}


def check(stem: str) -> Callable[[Callable[[Answer], None]], Callable[[Answer], None]]:
    """Register the check of the query file ``{stem}.rq``."""
    def register(function: Callable[[Answer], None]) -> Callable[[Answer], None]:
        CHECKS[stem] = function
        return function
    return register


# ---------------------------------------------------------------- the article

@check("01-articles")
def _(rows):
    row = assert_has_row(rows, article=ARTICLE, headline=HEADLINE, section="Business, Finance & Economics",
                         datePublished="2011-12-19", publisherName=GLOBALPOST, url=ARTICLE_URL)
    assert "19 December 2011" in row["dateNote"]


@check("02-cited-outlets")
def _(rows):
    cited = {(row["outletName"], row["wikidata"]) for row in rows if row["headline"] == HEADLINE}
    assert cited == {(NYT, WD + "Q9684"), (REUTERS, WD + "Q130879"), (AP, WD + "Q40469")}
    assert column(rows, "outletAlternateName", outletName=AP) == {"AP"}


@check("03-article-photos")
def _(rows):
    assert_has_row(rows, headline=HEADLINE,
                   caption="Kazakhstan's President Nursultan Nazarbayev attends a meeting at the Moscow "
                           "Kremlin on Dec. 19, 2011.",
                   eventName=KREMLIN_MEETING, date="2011-12-19", placeName="Moscow Kremlin",
                   attendeeName="Nursultan Nazarbayev", attendeeTitle="President of Kazakhstan")


@check("04-related-stories")
def _(rows):
    row = assert_has_row(rows, headline=HEADLINE, relatedHeadline="Peace Corps pulls out of Kazakhstan",
                         relatedPublisherName=GLOBALPOST)
    assert set(row["about"].split(", ")) == {"Peace Corps", "Kazakhstan"}


# ---------------------------------------------------------------- events

@check("05-event-timeline")
def _(rows):
    expected = {
        # name: (kind class, start, end, earliest start, latest start, date wording, place, reported by)
        STRIKE: ("Strike", None, None, "2011-05-01", "2011-05-31", "since May", "Mangystau Region", REUTERS),
        CLASHES: ("Clash", "2011-12-16", "2011-12-17", None, None, "on Dec. 16 and Dec. 17",
                  "Mangystau Region", NYT),
        DISPUTE: ("Dispute", "2011-12-16", None, None, None, None, "Zhanaozen", NYT),
        ZHANAOZEN_SHOOTING: ("PoliceUseOfForce", "2011-12-16", "2011-12-16", None, None, "On Friday",
                             "central square of Zhanaozen", NYT),
        ARSON: ("Arson", None, None, "2011-12-16", "2011-12-19", "After the clash in the square",
                "Zhanaozen", AP),
        BLOCKADE: ("Blockade", "2011-12-17", None, None, None, "On Saturday", "Shetpe", NYT),
        SHETPE_SHOOTING: ("PoliceUseOfForce", "2011-12-17", "2011-12-17", None, None, "On Saturday",
                          "Shetpe", NYT),
        AKTAU_PROTEST: ("Protest", None, None, "2011-12-18", "2011-12-19", "today", "Aktau", NYT),
        EMERGENCY: ("StateOfEmergency", "2011-12-17", None, None, None, "On Dec. 17", "Zhanaozen", AP),
        KASYMOV_STATEMENT: ("OfficialStatement", None, None, "2011-12-16", "2011-12-19", None, None, AP),
        AZUBALIS_STATEMENT: ("OfficialStatement", None, None, "2011-12-16", "2011-12-19", None, None, AP),
    }
    for name, (kind, start, end, earliest, latest, wording, place, outlet) in expected.items():
        assert_has_row(rows, eventName=name, kindClass=KAZ + kind, start=start, end=end,
                       earliestStart=earliest, latestStart=latest, dateWording=wording,
                       placeName=place, reportedBy=outlet)
    assert_has_row(rows, eventName=KREMLIN_MEETING, kindClass=None, kind="event", start="2011-12-19",
                   placeName="Moscow Kremlin", reportedBy=GLOBALPOST)
    order = [row["eventName"] for row in rows]
    assert order.index(STRIKE) < order.index(CLASHES) < order.index(BLOCKADE) < order.index(KREMLIN_MEETING)


@check("06-oil-strike")
def _(rows):
    # "since May": the month is known, not the day; a range of days compares with other dates
    assert_has_row(rows, strikeName=STRIKE, since=None, earliestStart="2011-05-01", latestStart="2011-05-31",
                   dateWording="since May",
                   regionName="Mangystau Region", strikers="oilmen on strike in Mangystau Region", demand="wage increases",
                   participantsWording="Thousands", participantsAtLeast="2000", reportedBy=REUTERS)


@check("07-clashes-casualties")
def _(rows):
    ours = {(r["figure"], r["wording"], r["value"], r["qualifier"], r["countedGroup"], r["reportedBy"])
            for r in rows if r["clashName"] == CLASHES}
    assert {
        ("deaths", "at least 14", "14", "at least", "striking workers", NYT),
        ("wounded", "dozens", "24", "order of magnitude in words", None, NYT),  # "wounded dozens more": of whom, unsaid
    } <= ours
    assert_has_row(rows, clashName=CLASHES, start="2011-12-16", end="2011-12-17")


@check("08-clashes-sub-events")
def _(rows):
    parts = {(r["partName"], r["kindClass"], r["date"], r["placeName"], r["partOfName"])
             for r in rows if r["clashName"] == CLASHES}
    assert {
        (ZHANAOZEN_SHOOTING, KAZ + "PoliceUseOfForce", "2011-12-16", "central square of Zhanaozen", CLASHES),
        (SHETPE_SHOOTING, KAZ + "PoliceUseOfForce", "2011-12-17", "Shetpe", CLASHES),
    } <= parts
    # the protesters blocked the tracks and police fired on them: the shooting is one of the
    # clashes, the blockade is not
    assert BLOCKADE not in column(rows, "partName", clashName=CLASHES)
    assert BLOCKADE not in column(rows, "partOfName", clashName=CLASHES)


@check("09-zhanaozen-shooting-deaths")
def _(rows):
    assert_has_row(rows, eventName=ZHANAOZEN_SHOOTING, date="2011-12-16", dateWording="On Friday",
                   placeName="central square of Zhanaozen", cityName="Zhanaozen", wording="at least 13",
                   killedAtLeast="13", qualifier="at least", reportedBy=NYT)
    assert SHETPE_SHOOTING not in column(rows, "eventName"), "Shetpe is not in Zhanaozen"


@check("10-zhanaozen-shooting-accounts")
def _(rows):
    accounts = {(r["eventName"], r["speakerName"], r["reportedBy"]) for r in rows}
    assert {
        (DISPUTE, "witnesses", NYT),
        (ZHANAOZEN_SHOOTING, "officials", NYT),
        (ZHANAOZEN_SHOOTING, "Kalmukhambet Kasymov", AP),
    } <= accounts
    (officials,) = column(rows, "text", speakerName="officials", reportedBy=NYT)
    assert "\u201chooligans,\u201d" in officials and "stones and gasoline bombs" in officials
    (witnesses,) = column(rows, "text", speakerName="witnesses", reportedBy=NYT)
    assert "holiday decorations for a government-sponsored children\u2019s party" in witnesses
    # his most direct answers are the quotations, not only the outlet's paraphrase
    assert column(rows, "text", speakerName="Kalmukhambet Kasymov", eventName=ZHANAOZEN_SHOOTING) == {
        "the police had no choice but to fire their weapons", *KASYMOV_QUOTES}
    assert column(rows, "form", text=KASYMOV_QUOTES[0]) == {"quotation"}
    assert column(rows, "reportedBy", speakerName="Kalmukhambet Kasymov") == {AP}


@check("11-zhanaozen-arson")
def _(rows):
    for target in ("mayor's office in Zhanaozen", "hotel in Zhanaozen", "UzenMunaiGas oil company headquarters",
                   "local branch of the Nur Otan party in Zhanaozen"):
        assert_has_row(rows, arsonName=ARSON, date=None, earliestStart="2011-12-16", latestStart="2011-12-19",
                       dateWording="After the clash in the square",
                       targetName=target, inPlace="Zhanaozen", afterEvent=ZHANAOZEN_SHOOTING,
                       accountBy="Kalmukhambet Kasymov", reportedBy=AP)


@check("12-shetpe-events")
def _(rows):
    assert_has_row(rows, eventName=BLOCKADE, kindClass=KAZ + "Blockade", date="2011-12-17",
                   dateWording="On Saturday", targetName="railroad tracks in Shetpe", figure="participants",
                   wording="several hundred", value="300", qualifier="order of magnitude in words",
                   countedGroup="protesters", reportedBy=NYT)
    assert_has_row(rows, eventName=SHETPE_SHOOTING, kindClass=KAZ + "PoliceUseOfForce", date="2011-12-17",
                   figure="deaths", wording="one person", value="1", qualifier="exactly", reportedBy=NYT)


@check("13-aktau-protest")
def _(rows):
    assert_has_row(rows, protestName=AKTAU_PROTEST, protesters="oil workers in Aktau",
                   participantsWording="hundreds", participantsAtLeast="200", againstEvent=CLASHES,
                   slogan=SLOGAN, sloganMedium="signs", reportedBy=NYT)


@check("14-aktau-protest-date")
def _(rows):
    row = assert_has_row(rows, protestName=AKTAU_PROTEST, dateWording="today", exactDate=None,
                         earliestStart="2011-12-18", latestStart="2011-12-19")
    assert "uncertain" in row["dateNote"]


@check("15-aktau-date-uncertain")
def _(answer):
    assert answer is True


@check("16-state-of-emergency")
def _(rows):
    assert_has_row(rows, emergencyName=EMERGENCY, placeName="Zhanaozen", declaredOn="2011-12-17",
                   dateWording="On Dec. 17", endDate=None, declaredBy="Nursultan Nazarbayev",
                   declaredByTitle="President of Kazakhstan", durationWording="three-week",
                   duration="P21D", reportedBy=AP)
    assert column(rows, "endDate", emergencyName=EMERGENCY) == {None}, "the article gives no end date"


# ---------------------------------------------------------------- what was said

@check("17-official-statements")
def _(rows):
    for quote in KASYMOV_QUOTES:
        assert_has_row(rows, statementName=KASYMOV_STATEMENT, speakerName="Kalmukhambet Kasymov",
                       earliestStart="2011-12-16", latestStart="2011-12-19", aboutEvent=ZHANAOZEN_SHOOTING,
                       form="quotation", words=quote, reportedBy=AP)
    # the statements' words, not only the quotations
    assert_has_row(rows, statementName=KASYMOV_STATEMENT, aboutEvent=ZHANAOZEN_SHOOTING, form="reported statement",
                   words="the police had no choice but to fire their weapons", reportedBy=AP)
    (arson_words,) = column(rows, "words", statementName=KASYMOV_STATEMENT, aboutEvent=ARSON)
    assert arson_words.startswith("After the clash in the square, Kasymov said, the crowd raged")
    # a quotation is paired only with the event it is about: the words on the shooting are not
    # about the arson
    assert not set(KASYMOV_QUOTES) & column(rows, "words", statementName=KASYMOV_STATEMENT, aboutEvent=ARSON)
    assert_has_row(rows, statementName=AZUBALIS_STATEMENT, speakerName="Audronius Azubalis",
                   earliestStart="2011-12-16", latestStart="2011-12-19", aboutEvent=CLASHES,
                   form="quotation", words=AZUBALIS_QUOTE, reportedBy=AP)
    assert_has_row(rows, statementName=AZUBALIS_STATEMENT, aboutEvent=CLASHES, form="reported statement",
                   words="expressed dismay at the way the situation was handled", reportedBy=AP)
    ours = column(rows, "place", statementName=KASYMOV_STATEMENT) | column(rows, "place",
                                                                         statementName=AZUBALIS_STATEMENT)
    assert ours == {None}, "the article places no statement anywhere"


@check("18-quotations")
def _(rows):
    for quote in KASYMOV_QUOTES:
        assert_has_row(rows, text=quote, speakerName="Kalmukhambet Kasymov",
                       speakerTitles="Interior Minister", aboutEvent=ZHANAOZEN_SHOOTING, reportedBy=AP)
    (azubalis,) = [r for r in rows if r["text"] == AZUBALIS_QUOTE]  # once, whatever his titles
    assert (azubalis["speakerName"], azubalis["aboutEvent"], azubalis["reportedBy"]) == (
        "Audronius Azubalis", CLASHES, AP)
    assert set(azubalis["speakerTitles"].split("; ")) == {"Lithuanian Foreign Minister", "OSCE chairperson-in-office"}
    texts = [r["text"] for r in rows]
    assert len(texts) == len(set(texts)), "each quotation is one row"
    assert_has_row(rows, text=SLOGAN, speakerName="oil workers in Aktau", medium="signs",
                   aboutEvent=AKTAU_PROTEST, reportedBy=NYT)


@check("19-statement-claims")
def _(rows):
    claims = {(r["reportedBy"], r["speakerName"], r["aboutEvent"]) for r in rows}
    assert {
        (REUTERS, REUTERS, STRIKE),  # narration is the outlet's own report
        (NYT, "witnesses", DISPUTE),
        (NYT, "officials", ZHANAOZEN_SHOOTING),
        (AP, "Kalmukhambet Kasymov", ZHANAOZEN_SHOOTING),
        (AP, "Kalmukhambet Kasymov", ARSON),  # by inference: decision 002
        (AP, "Audronius Azubalis", CLASHES),
        (AP, AP, EMERGENCY),  # the AP reports the declaration; Nazarbayev is not quoted
    } <= claims
    ours = {(r["speakerName"], r["aboutEvent"]) for r in rows if r["reportedBy"] in {NYT, REUTERS, AP}}
    assert ("oilmen on strike in Mangystau Region", STRIKE) not in ours, "the strikers say nothing in the article"
    assert ("Nursultan Nazarbayev", EMERGENCY) not in ours, "Nazarbayev says nothing in the article"
    assert_has_row(rows, reportedBy=AP, speakerName="Audronius Azubalis",
                   text="expressed dismay at the way the situation was handled")
    assert_has_row(rows, reportedBy=REUTERS, aboutEvent=STRIKE,
                   text="Thousands of oilmen had been on strike in the Mangistau region since May, "
                        "demanding wage increases")


@check("20-figures-by-outlet")
def _(rows):
    figures = {(r["reportedBy"], r["aboutEvent"], r["figure"], r["wording"], r["qualifier"], r["value"],
                r["duration"]) for r in rows}
    assert {
        (REUTERS, STRIKE, "participants", "Thousands", "order of magnitude in words", "2000", None),
        (NYT, CLASHES, "deaths", "at least 14", "at least", "14", None),
        (NYT, CLASHES, "wounded", "dozens", "order of magnitude in words", "24", None),
        (NYT, ZHANAOZEN_SHOOTING, "deaths", "at least 13", "at least", "13", None),
        (NYT, SHETPE_SHOOTING, "deaths", "one person", "exactly", "1", None),
        (NYT, BLOCKADE, "participants", "several hundred", "order of magnitude in words", "300", None),
        (NYT, AKTAU_PROTEST, "participants", "hundreds", "order of magnitude in words", "200", None),
        (AP, EMERGENCY, "duration", "three-week", "exactly", None, "P21D"),
    } <= figures
    # how words were turned into numbers is written down with each such figure
    for row in rows:
        if row["qualifier"] == "order of magnitude in words" and row["reportedBy"] in {NYT, REUTERS}:
            assert row["valueNote"], row


# ---------------------------------------------------------------- people, organisations, places

@check("21-people")
def _(rows):
    people = {r["name"]: r for r in rows}
    expected = {
        # name: (job titles, affiliations, Wikidata item or None where the identifier is not verified)
        "Nursultan Nazarbayev": ({"President of Kazakhstan"}, set(), WD + "Q57394"),
        "Kalmukhambet Kasymov": ({"Interior Minister"}, set(), None),
        "Audronius Azubalis": ({"Lithuanian Foreign Minister", "OSCE chairperson-in-office"},
                               {"Organization for Security and Co-operation in Europe"}, WD + "Q58201"),
    }
    for name, (titles, affiliations, wikidata) in expected.items():
        person = people[name]
        assert titles <= set((person["jobTitles"] or "").split("; ")), name
        assert affiliations <= set((person["affiliations"] or "").split("; ")), name
        assert person["wikidata"] == wikidata, name


@check("22-organisations")
def _(rows):
    organisations = {r["name"]: r for r in rows}
    expected = {
        # name: (kind, Wikidata item or None where the identifier is not verified)
        NYT: ("NewsMediaOrganization", WD + "Q9684"),
        REUTERS: ("NewsMediaOrganization", WD + "Q130879"),
        AP: ("NewsMediaOrganization", WD + "Q40469"),
        GLOBALPOST: ("NewsMediaOrganization", None),
        "Organization for Security and Co-operation in Europe": ("Organization", WD + "Q81299"),
        "Nur Otan": ("Organization", WD + "Q1195092"),
        "UzenMunaiGas": ("Corporation", None),
        "Peace Corps": ("Organization", None),
        "police": ("Organization", None),
    }
    for name, (kind, wikidata) in expected.items():
        assert (organisations[name]["kind"], organisations[name]["wikidata"]) == (kind, wikidata), name
    uzen = organisations["UzenMunaiGas"]
    assert set(uzen["alternateNames"].split("; ")) == {"OzenMunaiGas", "Ozenmunaigas"}
    assert uzen["locations"] == "UzenMunaiGas oil company headquarters"
    assert "OSCE" in organisations["Organization for Security and Co-operation in Europe"]["alternateNames"]


@check("23-places")
def _(rows):
    places = {r["name"]: r for r in rows}
    expected = {
        # name: (kind, contained in, latitude, longitude)
        "Kazakhstan": ("Country", None, "48.0", "68.0"),
        "Mangystau Region": ("AdministrativeArea", "Kazakhstan", "43.867", "52.000"),
        "Aktau": ("City", "Mangystau Region", "43.66105", "51.17392"),
        "Zhanaozen": ("City", "Mangystau Region", "43.34116", "52.86192"),
        "Shetpe": ("City", "Mangystau Region", "44.13922", "52.15305"),
        "Moscow Kremlin": ("Place", None, "55.751667", "37.617778"),
    }
    for name, (kind, container, latitude, longitude) in expected.items():
        row = places[name]
        assert (row["kind"], row["containedIn"]) == (kind, container), name
        assert (Decimal(row["latitude"]), Decimal(row["longitude"])) == (Decimal(latitude), Decimal(longitude))
    for name in ("central square of Zhanaozen", "mayor's office in Zhanaozen", "hotel in Zhanaozen",
                 "UzenMunaiGas oil company headquarters", "local branch of the Nur Otan party in Zhanaozen"):
        assert (places[name]["kind"], places[name]["containedIn"], places[name]["latitude"]) == (
            "Place", "Zhanaozen", None), name
    assert places["railroad tracks in Shetpe"]["containedIn"] == "Shetpe"


@check("24-external-identifiers")
def _(rows):
    links = {(r["label"], r["dataset"], r["identifier"]) for r in rows}
    assert {
        ("Kazakhstan", "Wikidata", "Q232"), ("Kazakhstan", "GeoNames", "1522867"),
        ("Aktau", "Wikidata", "Q198989"), ("Aktau", "GeoNames", "610612"),
        ("Zhanaozen", "Wikidata", "Q1000852"), ("Zhanaozen", "GeoNames", "607610"),
        ("Shetpe", "Wikidata", "Q4523462"), ("Shetpe", "GeoNames", "608324"),
        ("Mangystau Region", "Wikidata", "Q238931"), ("Mangystau Region", "GeoNames", "608879"),
        ("Moscow Kremlin", "Wikidata", "Q133274"),
        ("Nursultan Nazarbayev", "Wikidata", "Q57394"),
        ("Audronius Azubalis", "Wikidata", "Q58201"),
        ("Organization for Security and Co-operation in Europe", "Wikidata", "Q81299"),
        ("Nur Otan", "Wikidata", "Q1195092"),
        (NYT, "Wikidata", "Q9684"), (REUTERS, "Wikidata", "Q130879"), (AP, "Wikidata", "Q40469"),
    } <= links
    assert_has_row(rows, label="Zhanaozen", externalIri=GN + "607610/")
    assert "other" not in column(rows, "dataset")
    unverified = {"Kalmukhambet Kasymov", "UzenMunaiGas", GLOBALPOST, "Peace Corps"}
    assert not unverified & column(rows, "label"), "entities without a verified identifier must not be linked"


@check("25-alternate-names")
def _(rows):
    names = {(r["name"], r["alternateName"], r["language"]) for r in rows}
    assert {
        ("Zhanaozen", "Janaozen", "en"), ("Zhanaozen", "Novy Uzen", "en"),
        ("Zhanaozen", "Zhangaozen", "en"),
        ("Zhanaozen", "\u0416\u0430\u04a3\u0430\u04e9\u0437\u0435\u043d", "kk"),  # Жаңаөзен
        ("Zhanaozen", "\u0416\u0430\u043d\u0430\u043e\u0437\u0435\u043d", "ru"),  # Жанаозен
        ("Aktau", "Aqtau", "en"), ("Aktau", "\u0410\u049b\u0442\u0430\u0443", "kk"),  # Ақтау
        ("Aktau", "\u0410\u043a\u0442\u0430\u0443", "ru"),  # Актау
        ("Shetpe", "\u0428\u0435\u0442\u043f\u0435", "kk"), ("Shetpe", "\u0428\u0435\u0442\u043f\u0435", "ru"),
        ("Mangystau Region", "Mangyshlak", "en"),
        ("Mangystau Region", "\u041c\u0430\u04a3\u0493\u044b\u0441\u0442\u0430\u0443 \u043e\u0431\u043b\u044b\u0441\u044b", "kk"),
        ("Nursultan Nazarbayev", "\u041d\u04b1\u0440\u0441\u04b1\u043b\u0442\u0430\u043d \u041d\u0430\u0437\u0430\u0440\u0431\u0430\u0435\u0432", "kk"),
        ("Nursultan Nazarbayev", "\u041d\u0443\u0440\u0441\u0443\u043b\u0442\u0430\u043d \u041d\u0430\u0437\u0430\u0440\u0431\u0430\u0435\u0432", "ru"),
        ("Audronius Azubalis", "Audronius A\u017eubalis", "en"),
        ("Nur Otan", "\u041d\u04b1\u0440 \u041e\u0442\u0430\u043d", "kk"),
        ("UzenMunaiGas", "OzenMunaiGas", "en"), ("UzenMunaiGas", "Ozenmunaigas", "en"),
        (AP, "AP", "en"),
        ("Organization for Security and Co-operation in Europe", "OSCE", "en"),
    } <= names
    # every name says its language: the Latin-script names are those used in English (decision 002)
    untagged = {r["alternateName"] for r in rows if r["language"] == "(untagged)"}
    assert not untagged, f"alternate names without a language tag: {sorted(untagged)}"


# ---------------------------------------------------------------- the query files themselves

@pytest.mark.parametrize("path", QUERY_FILES, ids=[path.stem for path in QUERY_FILES])
def test_competency_question(bare_store: ox.Store, path: Path) -> None:
    assert path.stem in CHECKS, f"{path.name} has no expected answer in CHECKS"
    CHECKS[path.stem](run(bare_store, path))


@pytest.mark.parametrize("path", QUERY_FILES, ids=[path.stem for path in QUERY_FILES])
def test_query_file_starts_with_its_question(path: Path) -> None:
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line.startswith("# ") and first_line.rstrip().endswith("?"), first_line
    assert len(first_line) > len("# ?") + 10, "the question is too short to say what the query answers"


@pytest.mark.parametrize("path", QUERY_FILES, ids=[path.stem for path in QUERY_FILES])
def test_query_file_runs_unchanged_in_a_bare_engine(bare_store: ox.Store, path: Path) -> None:
    """Each file declares every prefix it uses (the endpoint's predeclared ones are a convenience for
    typing), so it runs as it is on the dumps in any SPARQL 1.1 engine, and it has an answer."""
    answer = run(bare_store, path)
    assert answer is True if isinstance(answer, bool) else len(answer) > 0
    text = path.read_text(encoding="utf-8")
    declaration = re.compile(r"^PREFIX\s+(\w*):\s*<[^>]*>\s*$", re.MULTILINE)
    body = declaration.sub("", text)
    for name in declaration.findall(text):
        assert re.search(rf"(?<![\w?$]){name}:", body), f"{path.name} declares {name}: without using it"


def test_every_check_has_its_query_file() -> None:
    assert len(QUERY_FILES) >= 15
    assert set(CHECKS) == {path.stem for path in QUERY_FILES}


# ---------------------------------------------------------------- the record against the article's words

def quoted_passages(text: str) -> list[str]:
    """What the article prints between quotation marks (it uses only the typographic ones)."""
    return re.findall("\u201c([^\u201d]*)\u201d", text)


def article_records(store: ox.Store, kind: str, text_property: str) -> list[tuple[str, str]]:
    """(node, text) of every ``kind`` derived from the GlobalPost article, with its ``text_property``."""
    result = store.query(f"""
        SELECT ?node ?text WHERE {{
            ?node a <{kind}> ; <{text_property}> ?text ;
                  <http://www.w3.org/ns/prov#wasDerivedFrom> <{ARTICLE}> .
        }}""", use_default_graph_as_union=True)
    return [(solution["node"].value, solution["text"].value) for solution in result]


def test_a_counted_group_is_the_noun_the_article_attaches_to_the_figure(dump_store: ox.Store) -> None:
    """"at least 14 striking workers", "Thousands of oilmen", "one person": who is counted is said
    next to the number, or not at all ("wounded dozens more", "killing at least 13")."""
    article = ARTICLE_TEXT.read_text(encoding="utf-8")
    result = dump_store.query(f"""
        SELECT ?claim ?wording ?group WHERE {{
            ?claim <{KAZ}wording> ?wording ; <{KAZ}countedGroup> ?group ;
                   <http://www.w3.org/ns/prov#wasDerivedFrom> <{ARTICLE}> .
        }}""", use_default_graph_as_union=True)
    groups = [(s["claim"].value, s["wording"].value, s["group"].value) for s in result]
    assert len(groups) >= 4
    for claim, wording, group in groups:
        assert any(phrase in article for phrase in (f"{wording} {group}", f"{wording} of {group}")) \
            or wording.endswith(group), (claim, wording, group)


def test_an_events_description_is_a_sentence_of_the_article_as_printed(bare_store: ox.Store) -> None:
    """An event's description reads like the article's sentence because it is one, word for word
    and mark for mark (not "witnesses told the New York Times" where it says "witnesses said");
    what the record adds goes in an rdfs:comment."""
    article = ARTICLE_TEXT.read_text(encoding="utf-8")
    result = bare_store.query(f"""
        SELECT ?event ?description WHERE {{
            GRAPH <{PREFIXES["kd"].replace("/id/", "/graph/")}globalpost-2011-12-19> {{
                ?event a <https://schema.org/Event> ; <https://schema.org/description> ?description .
            }}
        }}""")
    descriptions = [(s["event"].value, s["description"].value) for s in result]
    assert len(descriptions) >= 10
    for event, description in descriptions:
        assert description in article, (event, description)
        assert description[0].isupper() and description.endswith("."), f"{event}: not a whole sentence"


def test_every_quotation_is_a_verbatim_passage_of_the_article(dump_store: ox.Store) -> None:
    """A quotation's text is part of one passage the article prints between quotation marks,
    character for character (typographic apostrophes and marks as printed): never two passages
    joined, never a word the article does not print inside the marks."""
    passages = quoted_passages(ARTICLE_TEXT.read_text(encoding="utf-8"))
    assert len(passages) == 5, passages
    quotations = article_records(dump_store, PREFIXES["schema"] + "Quotation", PREFIXES["schema"] + "text")
    assert len(quotations) >= 4
    for node, text in quotations:
        assert text.strip() and any(text in passage for passage in passages), (node, text)


@pytest.mark.parametrize("kind, text_property", [
    ("StatementClaim", PREFIXES["schema"] + "text"),
    ("FigureClaim", KAZ + "wording"),
    ("FigureClaim", KAZ + "countedGroup"),
], ids=["statement-text", "figure-wording", "counted-group"])
def test_the_words_of_every_claim_are_the_articles(dump_store: ox.Store, kind: str, text_property: str) -> None:
    """What a claim gives as the source's words is printed in the article as it stands."""
    article = ARTICLE_TEXT.read_text(encoding="utf-8")
    records = article_records(dump_store, KAZ + kind, text_property)
    assert records
    for node, text in records:
        assert text in article, (node, text)


def test_the_arson_account_is_credited_to_one_outlet(dump_store: ox.Store) -> None:
    """The arson, Kasymov's account of it and the statement it belongs to name one outlet (the AP,
    by inference: decision 002), not GlobalPost for some and the AP for others."""
    result = dump_store.query(f"""
        SELECT DISTINCT ?outlet WHERE {{
            {{ BIND (<{KD}event/zhanaozen-arson-2011-12-16> AS ?record) }}
            UNION {{ ?record <https://schema.org/about> <{KD}event/zhanaozen-arson-2011-12-16> }}
            ?record <http://www.w3.org/ns/prov#wasAttributedTo> ?outlet .
        }}""", use_default_graph_as_union=True)
    assert {solution["outlet"].value for solution in result} == {KD + "organization/associated-press"}


# ---------------------------------------------------------------- the record against the verified reference

def reference_rows() -> list[dict[str, str]]:
    with (REFERENCE_DIR / "identifiers.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_external_identifier_is_a_verified_one(dump_store: ox.Store) -> None:
    """Only identifiers that data/reference/identifiers.csv verifies are linked, each on its own
    entity; a row "not verified: do not link" is never linked."""
    verified = set()
    for row in reference_rows():
        if row["wikidata"]:
            verified.add((row["entity"], WD + row["wikidata"]))
        if row["geonames"]:
            verified.add((row["entity"], f"https://sws.geonames.org/{row['geonames']}/"))
    linked = _by_english_label(dump_store, "https://schema.org/sameAs")
    assert linked, "the dataset links nothing"
    assert linked <= verified, sorted(linked - verified)


def _by_english_label(store: ox.Store, predicate: str) -> set[tuple[str, str]]:
    """(English label of an entity, a value of ``predicate`` on it), as identifiers.csv names them."""
    result = store.query(f"""
        SELECT ?label ?value WHERE {{
            ?entity <{predicate}> ?value ; <http://www.w3.org/2000/01/rdf-schema#label> ?label .
            FILTER (langMatches(lang(?label), "en"))
        }}""", use_default_graph_as_union=True)
    return {(solution["label"].value, solution["value"].value) for solution in result}


def test_every_alternate_name_is_the_articles_or_a_verified_one(dump_store: ox.Store) -> None:
    """An alternate name is one identifiers.csv gives for the entity, or the article's own wording."""
    allowed = set()
    for row in reference_rows():
        names = [re.sub(r"\s*\(.*\)$", "", name) for name in row["alternate_names"].split("|") if name]
        allowed |= {(row["entity"], name) for name in [*names, row["article_wording"]]}
    names = _by_english_label(dump_store, "https://schema.org/alternateName")
    assert names and names <= allowed, sorted(names - allowed)


# folders beside the repository that the record was once read from (spelt in pieces, so that this
# file does not name them itself)
OUTSIDE = re.compile("|".join([r"\.\./" + "sha" + r"red\b", r"(?<![\w.-])" + "sha" + r"red/(?:reference|seed)\b",
                               "/wo" + r"rk/(?:main|wt-|sha" + r"red)"]))


def test_the_repository_is_self_contained() -> None:
    """No file of the project names a folder outside the repository: what the record rests on is
    copied into data/reference/ with its provenance."""
    root = Path(__file__).resolve().parents[1]
    assert {path.name for path in REFERENCE_DIR.iterdir()} >= {"README.md", "article.txt", "identifiers.csv"}
    found = []
    for folder in ("README.md", "docs", "data", "ontology", "shapes", "tests", "kazdata", "bench", "pyproject.toml"):
        for path in [root / folder] if (root / folder).is_file() else sorted((root / folder).rglob("*")):
            if path.is_file() and path.suffix in {".md", ".ttl", ".rq", ".py", ".txt", ".csv", ".toml", ".jsonld", ".html"}:
                text = path.read_text(encoding="utf-8", errors="replace")
                found += [f"{path.relative_to(root)}: {m.group(0)}" for m in OUTSIDE.finditer(text)]
    assert found == []


# ---------------------------------------------------------------- the day or place a question names

DECOYS = Path(__file__).resolve().parent / "fixtures" / "competency" / "other-days-and-places.ttl"

#: query -> (decoy events it must show, decoy events it must not show). A question that names a day
#: keeps to it, and keeps an event dated by a range of days that includes it; a question that names a
#: place keeps to it; a query never drops an event because it has a range instead of a start date.
DATED_QUESTIONS: dict[str, tuple[set[str], set[str]]] = {
    "03-article-photos": ({"Decoy: meeting on 18 or 19 December 2011"}, set()),
    "06-oil-strike": ({"Decoy: strike begun in May 2011"}, set()),
    "07-clashes-casualties": ({"Decoy: clash on 16 or 17 December 2011"}, {"Decoy: clash of March 2012"}),
    "08-clashes-sub-events": ({"Decoy: shooting in Zhanaozen on 16 or 17 December 2011"},
                              {"Decoy: shooting in Zhanaozen, March 2012", "Decoy: clash of March 2012"}),
    "09-zhanaozen-shooting-deaths": ({"Decoy: shooting in Zhanaozen on 16 or 17 December 2011"},
                                     {"Decoy: shooting in Zhanaozen, 20 December 2011",
                                      "Decoy: shooting in Zhanaozen, March 2012"}),
    "11-zhanaozen-arson": ({"Decoy: arson in Zhanaozen on 16 or 17 December 2011"}, set()),
    "12-shetpe-events": ({"Decoy: protest in Shetpe on 17 or 18 December 2011"},
                         {"Decoy: protest in Shetpe, 18 December 2011"}),
    "16-state-of-emergency": ({"Decoy: state of emergency for Zhanaozen declared 17 or 18 December 2011"},
                              {"Decoy: state of emergency for Zhanaozen, January 2012",
                               "Decoy: state of emergency for Aktau, 17 December 2011"}),
}


@pytest.fixture(scope="module")
def store_with_decoys(release_dir: Path) -> ox.Store:
    """The N-Quads dump and, in a graph of its own, events on other days, in other places, or dated
    by a range (tests/fixtures/competency/other-days-and-places.ttl)."""
    store = ox.Store()
    store.bulk_load(path=str(release_dir / "dumps" / "kazdata.nq"), format=ox.RdfFormat.N_QUADS)
    store.load(path=str(DECOYS), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode("urn:kazdata:test:decoys"))
    return store


@pytest.mark.parametrize("stem", sorted(DATED_QUESTIONS))
def test_a_question_keeps_to_the_day_and_place_it_names(store_with_decoys: ox.Store, stem: str) -> None:
    shown, not_shown = DATED_QUESTIONS[stem]
    rows = run(store_with_decoys, QUERY_DIR / f"{stem}.rq")
    values = {value for row in rows for value in row.values()}
    assert shown <= values, f"{stem} drops {sorted(shown - values)}"
    assert not (not_shown & values), f"{stem} shows {sorted(not_shown & values)}"
    CHECKS[stem](rows)  # and the article's answer is still there


def test_every_date_of_the_article_is_a_day(bare_store: ox.Store) -> None:
    """Dates compare in SPARQL only with their own type: a month (xsd:gYearMonth) is not before or
    after 16 December 2011 there, so a month is written as the range of its days."""
    result = bare_store.query("""
        SELECT ?event ?date WHERE {
            VALUES ?property { <https://schema.org/startDate> <https://schema.org/endDate>
                               <http://semanticweb.cs.vu.nl/2009/11/sem/hasEarliestBeginTimeStamp>
                               <http://semanticweb.cs.vu.nl/2009/11/sem/hasLatestBeginTimeStamp> }
            ?event ?property ?date .
            FILTER (datatype(?date) != <http://www.w3.org/2001/XMLSchema#date>)
        }""", use_default_graph_as_union=True)
    assert [(s["event"].value, s["date"].value) for s in result] == []


def test_each_group_is_one_of_the_articles_wordings(dump_store: ox.Store) -> None:
    """The oilmen on strike since May (Reuters), the striking workers of the clashes, the protesters
    in the central square of Zhanaozen and the oil workers in Aktau are told apart: the article never
    says they are the same people."""
    events = ["mangystau-oil-strike-2011", "mangystau-clashes-2011-12-16-17", "zhanaozen-shooting-2011-12-16",
              "aktau-protest-2011-12"]
    groups = {}
    for event in events:
        result = dump_store.query(f"""
            SELECT ?group WHERE {{
                <{KD}event/{event}> <http://semanticweb.cs.vu.nl/2009/11/sem/hasActor> ?group .
                ?group a <{KAZ}PeopleGroup> .
            }}""", use_default_graph_as_union=True)
        (groups[event],) = [solution["group"].value for solution in result]
    assert len(set(groups.values())) == len(events), groups


def test_the_article_says_what_it_is_about_and_whom_it_mentions(dump_store: ox.Store) -> None:
    """Its headline subject (the Aktau protest) is not all it reports: the clashes, both shootings,
    the strike and the state of emergency are its subjects too, and the people and organisations it
    names are mentioned."""
    def objects(predicate: str) -> set[str]:
        result = dump_store.query(f"SELECT ?o WHERE {{ <{ARTICLE}> <https://schema.org/{predicate}> ?o }}",
                                  use_default_graph_as_union=True)
        return {solution["o"].value[len(KD):] for solution in result}
    assert objects("about") >= {
        "event/aktau-protest-2011-12", "event/mangystau-clashes-2011-12-16-17", "event/zhanaozen-shooting-2011-12-16",
        "event/shetpe-shooting-2011-12-17", "event/mangystau-oil-strike-2011",
        "event/zhanaozen-state-of-emergency-2011-12-17"}
    assert objects("mentions") >= {
        "person/kalmukhambet-kasymov", "person/audronius-azubalis", "organization/osce", "organization/nur-otan",
        "organization/uzenmunaigas", "organization/peace-corps"}


def test_kasymov_told_the_ap_and_azubalis_issued_a_statement(dump_store: ox.Store) -> None:
    """"he told the AP" is an interview given to the AP; "he said in a statement" is not."""
    def ask(query: str) -> bool:
        return bool(dump_store.query(query, use_default_graph_as_union=True))
    assert ask(f"ASK {{ <{KD}event/kasymov-statement-2011-12> a <{KAZ}Interview> ; "
               f"<{KAZ}givenTo> <{KD}organization/associated-press> }}")
    assert not ask(f"ASK {{ <{KD}event/azubalis-osce-statement-2011-12> a <{KAZ}Interview> }}")


def test_the_officials_account_of_an_attack_is_structured_and_stays_theirs(dump_store: ox.Store) -> None:
    """Who attacked and with what, as the officials allege it (New York Times): on their claim, in
    the article's words, not as an event the record asserts."""
    result = dump_store.query(f"""
        SELECT ?speaker ?outlet ?attacker ?weapon WHERE {{
            ?claim <{KAZ}allegedAttacker>/<http://www.w3.org/2000/01/rdf-schema#label> ?attacker ;
                   <{KAZ}allegedWeapon> ?weapon ;
                   <{KAZ}statedBy>/<http://www.w3.org/2000/01/rdf-schema#label> ?speaker ;
                   <http://www.w3.org/ns/prov#wasAttributedTo>/<https://schema.org/name> ?outlet ;
                   <https://schema.org/about> <{KD}event/zhanaozen-shooting-2011-12-16> .
        }}""", use_default_graph_as_union=True)
    rows = {(s["speaker"].value, s["outlet"].value, s["attacker"].value, s["weapon"].value) for s in result}
    assert rows == {("officials", NYT, "\u201chooligans\u201d", "stones"),
                    ("officials", NYT, "\u201chooligans\u201d", "gasoline bombs")}
    article = ARTICLE_TEXT.read_text(encoding="utf-8")
    assert all(weapon in article for *_, weapon in rows)


def test_the_slogan_is_displayed_by_the_protesters_not_written_by_them(dump_store: ox.Store) -> None:
    """"Holding signs with the slogan": the article says who held the signs, not who wrote them."""
    slogan = f"<{KD}quotation/aktau-slogan-dont-shoot-the-people>"
    assert not dump_store.query(f"ASK {{ {slogan} <https://schema.org/creator>|<https://schema.org/spokenByCharacter> ?who }}",
                                use_default_graph_as_union=True)
    assert dump_store.query(f"ASK {{ {slogan} <{KAZ}displayedBy> <{KD}group/aktau-oil-workers> }}",
                            use_default_graph_as_union=True)


def test_events_are_not_attributed_but_each_is_traceable_to_the_article(bare_store: ox.Store) -> None:
    """PROV-O attributes records, not happenings: prov:wasAttributedTo on the strike would say
    Reuters is responsible for the strike (and make the statements both prov:Activity and
    prov:Entity). The article is schema:about each event it reports (its photo about the meeting it
    shows), and the claims and quotations about an event (or said in a statement) carry the outlets."""
    graph = f"<{KD.replace('/id/', '/graph/')}globalpost-2011-12-19>"
    attributed = bare_store.query(f"""
        SELECT ?event WHERE {{ GRAPH {graph} {{
            ?event a <https://schema.org/Event> .
            {{ ?event <http://www.w3.org/ns/prov#wasAttributedTo> ?x }} UNION {{ ?event <http://www.w3.org/ns/prov#wasDerivedFrom> ?x }}
        }} }}""")
    assert [s["event"].value for s in attributed] == []
    untraced = bare_store.query(f"""
        SELECT ?event WHERE {{ GRAPH {graph} {{
            ?event a <https://schema.org/Event> .
            FILTER NOT EXISTS {{ <{ARTICLE}> (<https://schema.org/image>)?/<https://schema.org/about> ?event }}
        }} }}""")
    assert [s["event"].value for s in untraced] == []
    unreported = bare_store.query(f"""
        SELECT ?event WHERE {{ GRAPH {graph} {{
            ?event a <https://schema.org/Event> .
            FILTER NOT EXISTS {{ ?record <https://schema.org/about>|<{KAZ}saidIn> ?event ;
                                        <http://www.w3.org/ns/prov#wasAttributedTo> ?outlet ;
                                        <http://www.w3.org/ns/prov#wasDerivedFrom> <{ARTICLE}> }}
        }} }}""")
    assert [s["event"].value for s in unreported] == [], "every event is known from a record that names its outlet"


def test_schema_about_means_the_event_a_record_concerns_only(dump_store: ox.Store) -> None:
    """A quotation or statement claim was schema:about both the shooting and Kasymov's statement:
    one property for the event it concerns and the statement it came from. The statement is now
    kaz:saidIn, each record is about the event it concerns and no other, and each of the six
    records of what Kasymov and Azubalis said is said in its statement."""
    about_a_statement = dump_store.query(f"""
        SELECT ?record WHERE {{
            ?record a ?type ; <https://schema.org/about> ?statement .
            VALUES ?type {{ <{KAZ}StatementClaim> <{KAZ}FigureClaim> <https://schema.org/Quotation> }}
            ?statement a <{KAZ}OfficialStatement> .
        }}""", use_default_graph_as_union=True)
    assert [s["record"].value for s in about_a_statement] == []
    said_in = dump_store.query(f"""
        SELECT ?record ?statement ?about WHERE {{
            ?record <{KAZ}saidIn> ?statement ; <https://schema.org/about> ?about .
        }}""", use_default_graph_as_union=True)
    rows = {(s["record"].value.removeprefix(KD), s["statement"].value.removeprefix(KD),
             s["about"].value.removeprefix(KD)) for s in said_in}
    kasymov, azubalis = "event/kasymov-statement-2011-12", "event/azubalis-osce-statement-2011-12"
    assert rows == {
        ("claim/zhanaozen-police-no-choice-kasymov-ap", kasymov, "event/zhanaozen-shooting-2011-12-16"),
        ("claim/zhanaozen-arson-kasymov", kasymov, "event/zhanaozen-arson-2011-12-16"),
        ("quotation/kasymov-nobody-gave-the-order", kasymov, "event/zhanaozen-shooting-2011-12-16"),
        ("quotation/kasymov-every-officer-took-the-decision", kasymov, "event/zhanaozen-shooting-2011-12-16"),
        ("claim/osce-dismay-azubalis-ap", azubalis, "event/mangystau-clashes-2011-12-16-17"),
        ("quotation/azubalis-proportionate-crowd-control", azubalis, "event/mangystau-clashes-2011-12-16-17"),
    }

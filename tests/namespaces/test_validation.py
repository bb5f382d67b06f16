"""The namespace rules, table by table: each bad input is refused with a message naming what is wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes

from accounts.errors import InvalidInput
from namespaces.validation import (
    MAX_CA_BUNDLE_BYTES,
    CodecServer,
    NamespaceSpec,
    clean_ca_bundle,
    clean_cert_filters,
    clean_codec_server,
    clean_name,
    clean_retention_days,
    clean_search_attributes,
    clean_spec,
    clean_tags,
    parse_ca_bundle,
)
from tests.support.certs import bundle, make_ca, make_leaf

NOW = datetime.now(UTC)


@pytest.mark.parametrize("name", ["ab", "payments", "pay-ments-2", "a" * 39, "x1"])
def test_good_names_are_kept(name: str) -> None:
    assert clean_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "a",
        "a" * 40,
        "Payments",
        "1payments",
        "-payments",
        "payments-",
        "pay--ments",
        "pay_ments",
        "pay.ments",
        "",
        "pay ments",
    ],
)
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match=r"namespace name .* is not valid: 2–39 characters"):
        clean_name(name)


@pytest.mark.parametrize("days", [1, 30, 90])
def test_retention_of_1_to_90_days_is_kept(days: int) -> None:
    assert clean_retention_days(days) == days


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (0, "retention must be 1–90 days, not 0"),
        (91, "retention must be 1–90 days, not 91"),
        (-5, "retention must be 1–90 days, not -5"),
        ("30", "retention must be a whole number of days"),
        (True, "retention must be a whole number of days"),
        (7.5, "retention must be a whole number of days"),
    ],
)
def test_retention_outside_1_to_90_days_is_refused(days: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        clean_retention_days(days)


# --- CA bundles -----------------------------------------------------------------------------

ROOT = make_ca("Good Root")
INTERMEDIATE = make_ca("Good Intermediate", issuer=ROOT)


def test_a_root_and_an_intermediate_are_accepted_and_described() -> None:
    certificates = parse_ca_bundle(bundle(ROOT, INTERMEDIATE), now=NOW)
    assert [c.subject for c in certificates] == ["O=Sundial Tests,CN=Good Root", "O=Sundial Tests,CN=Good Intermediate"]
    assert certificates[1].issuer == "O=Sundial Tests,CN=Good Root"
    assert certificates[0].not_after == ROOT.cert.not_valid_after_utc
    assert clean_ca_bundle("\n\n" + ROOT.pem + "\n", now=NOW) == ROOT.pem


def test_an_rsa_ca_signed_with_sha384_is_accepted() -> None:
    ca = make_ca("RSA Root", key_kind="rsa", algorithm=hashes.SHA384())
    assert parse_ca_bundle(ca.pem, now=NOW)[0].subject == "O=Sundial Tests,CN=RSA Root"


def test_an_empty_bundle_means_no_mtls() -> None:
    assert parse_ca_bundle("  \n", now=NOW) == []
    assert clean_ca_bundle("", now=NOW) == ""


def _seventeen_cas() -> str:
    return bundle(*(make_ca(f"Root {i}") for i in range(17)))


def _big_bundle() -> str:
    # 12 CAs padded with SANs: fewer than 16 certificates, more than 32 KB
    names = [f"host-{i:03d}.a-rather-long-subdomain-name.example.com" for i in range(60)]
    return bundle(*(make_ca(f"Padded Root {i}", dns_names=names) for i in range(12)))


BAD_BUNDLES: list[tuple[str, Any, str]] = [
    (
        "a leaf certificate",
        lambda: make_leaf(ROOT, "leaf.example.com").pem,
        r"certificate 1 \(CN=leaf.example.com\) is not a CA certificate \(basicConstraints CA:true is missing\)",
    ),
    (
        "a leaf after a good CA",
        lambda: bundle(ROOT, make_leaf(ROOT, "second.example.com")),
        r"certificate 2 \(CN=second.example.com\) is not a CA certificate",
    ),
    (
        "CA:false",
        lambda: make_ca("Not A CA", basic_constraints=False).pem,
        r"certificate 1 \(O=Sundial Tests,CN=Not A CA\) is not a CA certificate",
    ),
    (
        "no basicConstraints at all",
        lambda: make_ca("No Constraints", basic_constraints=None).pem,
        r"\(O=Sundial Tests,CN=No Constraints\) is not a CA certificate",
    ),
    ("17 certificates", _seventeen_cas, "the CA bundle holds 17 certificates; at most 16 are accepted"),
    ("more than 32 KB", _big_bundle, r"at most 32768 bytes \(32 KB\) are accepted"),
    (
        "an expired CA",
        lambda: make_ca("Old Root", not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=1)).pem,
        r"certificate 1 \(O=Sundial Tests,CN=Old Root\) expired on",
    ),
    (
        "SHA-224",  # cryptography no longer signs with SHA-1; SHA-224 is as much "weaker than SHA-256"
        lambda: make_ca("Sha224 Root", algorithm=hashes.SHA224()).pem,
        r"\(O=Sundial Tests,CN=Sha224 Root\) is signed with SHA224; SHA-256 or stronger is required",
    ),
    (
        "a 1024-bit RSA key",
        lambda: make_ca("Weak Root", key_kind="rsa", rsa_bits=1024).pem,
        r"\(O=Sundial Tests,CN=Weak Root\) has a 1024-bit RSA key",
    ),
    (
        "an Ed25519 key",
        lambda: make_ca("Edwards Root", key_kind="ed25519").pem,
        r"\(O=Sundial Tests,CN=Edwards Root\) has a key of type Ed25519; only RSA and ECDSA keys are accepted",
    ),
    (
        "the same CA twice",
        lambda: bundle(ROOT, ROOT),
        r"certificate 2 \(O=Sundial Tests,CN=Good Root\) repeats certificate 1",
    ),
    ("not PEM", lambda: "hello", "the CA bundle is not PEM"),
    ("text around the PEM", lambda: ROOT.pem + "trailing words", "the CA bundle is not PEM"),
    (
        "a private key",
        lambda: ROOT.pem + ROOT.key_pem,
        "the CA bundle may hold only certificates, not a PRIVATE KEY block",
    ),
    (
        "a damaged certificate",
        lambda: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "certificate 1 of the CA bundle cannot be read",
    ),
]


@pytest.mark.parametrize(("case", "make", "message"), BAD_BUNDLES, ids=[b[0] for b in BAD_BUNDLES])
def test_bad_ca_bundles_are_refused_naming_the_certificate(case: str, make: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_ca_bundle(make(), now=NOW)


def test_the_big_bundle_is_really_over_32_kb_with_fewer_than_16_certificates() -> None:
    text = _big_bundle()
    assert len(text.encode()) > MAX_CA_BUNDLE_BYTES
    assert text.count("BEGIN CERTIFICATE") < 16


# --- certificate filters ------------------------------------------------------------------------


def test_filters_are_completed_with_empty_fields() -> None:
    assert clean_cert_filters(
        [{"common_name": "*.workers.example.com"}, {"organization": "Acme", "subject_alternative_name": "api*"}]
    ) == [
        {
            "common_name": "*.workers.example.com",
            "organization": "",
            "organizational_unit": "",
            "subject_alternative_name": "",
        },
        {"common_name": "", "organization": "Acme", "organizational_unit": "", "subject_alternative_name": "api*"},
    ]


BAD_FILTERS: list[tuple[str, Any, str]] = [
    (
        "26 filters",
        [{"common_name": f"w{i}.example.com"} for i in range(26)],
        "26 certificate filters given; at most 25",
    ),
    ("no field set", [{"common_name": "", "organization": " "}], "certificate filter 1 sets no field"),
    ("'*' alone", [{"organization": "*"}], r"certificate filter 1: organization may not be '\*' alone"),
    ("two wildcards", [{"common_name": "*.x.*"}], r"may hold one '\*', at its start or its end only"),
    ("a wildcard inside", [{"common_name": "a*b.example.com"}], r"may hold one '\*', at its start or its end only"),
    ("an unknown field", [{"country": "DE"}], "certificate filter 1 has unknown field 'country'"),
    ("not an object", ["cn=x"], "certificate filter 1 must be an object"),
    ("not a list", "cn=x", "certificate filters must be a list"),
    ("a long value", [{"common_name": "x" * 256}], "is longer than 255 characters"),
]


@pytest.mark.parametrize(("case", "filters", "message"), BAD_FILTERS, ids=[b[0] for b in BAD_FILTERS])
def test_bad_certificate_filters_are_refused(case: str, filters: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        clean_cert_filters(filters)


# --- search attributes ------------------------------------------------------------------------------


def test_search_attribute_types_are_spelled_as_temporal_does() -> None:
    assert clean_search_attributes({"CustomerId": "keyword", "Amount": "Double", "Tags": "KEYWORDLIST"}) == {
        "CustomerId": "Keyword",
        "Amount": "Double",
        "Tags": "KeywordList",
    }


def test_existing_search_attributes_may_stay_and_new_ones_be_added() -> None:
    assert clean_search_attributes({"CustomerId": "Keyword", "Region": "Text"}, existing={"CustomerId": "Keyword"}) == {
        "CustomerId": "Keyword",
        "Region": "Text",
    }


def test_per_type_limits_are_temporal_clouds() -> None:
    forty = {f"Key{i}": "Keyword" for i in range(40)}
    assert len(clean_search_attributes(forty)) == 40
    with pytest.raises(InvalidInput, match="41 Keyword search attributes given; a namespace may have at most 40"):
        clean_search_attributes({**forty, "Key40": "Keyword"})


BAD_SEARCH_ATTRIBUTES: list[tuple[str, Any, dict[str, str], str]] = [
    (
        "a duplicate",
        [("CustomerId", "Keyword"), ("CustomerId", "Int")],
        {},
        "search attribute 'CustomerId' is listed twice",
    ),
    (
        "a type change",
        {"CustomerId": "Int"},
        {"CustomerId": "Keyword"},
        "'CustomerId' is a Keyword; its type cannot change to Int",
    ),
    ("a removal", {}, {"CustomerId": "Keyword"}, "search attribute 'CustomerId' cannot be removed"),
    ("a system name", {"WorkflowId": "Keyword"}, {}, "search attribute name 'WorkflowId' is reserved by Temporal"),
    ("a predefined name", {"BuildIds": "KeywordList"}, {}, "'BuildIds' is reserved by Temporal"),
    ("Temporal's prefix", {"TemporalThing": "Keyword"}, {}, "'TemporalThing' is reserved by Temporal"),
    ("65 characters", {"x" * 65: "Keyword"}, {}, "is longer than 64 characters"),
    ("a bad character", {"Customer#Id": "Keyword"}, {}, r"may hold only letters, digits, spaces and \. , : _ - /"),
    ("an empty name", {"": "Keyword"}, {}, "a search attribute needs a name"),
    ("an unknown type", {"When": "Date"}, {}, "search attribute 'When' has unknown type 'Date' .one of Bool, Datetime"),
    (
        "six Text",
        {f"T{i}": "Text" for i in range(6)},
        {},
        "6 Text search attributes given; a namespace may have at most 5",
    ),
    ("six KeywordList", {f"L{i}": "KeywordList" for i in range(6)}, {}, "6 KeywordList search attributes given"),
    (
        "21 Int",
        {f"I{i}": "Int" for i in range(21)},
        {},
        "21 Int search attributes given; a namespace may have at most 20",
    ),
]


@pytest.mark.parametrize(
    ("case", "wanted", "existing", "message"), BAD_SEARCH_ATTRIBUTES, ids=[b[0] for b in BAD_SEARCH_ATTRIBUTES]
)
def test_bad_search_attributes_are_refused(case: str, wanted: Any, existing: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        clean_search_attributes(wanted, existing=existing)


def test_names_with_the_allowed_punctuation_are_kept() -> None:
    name = "order.id,v2:a_b-c/d e"
    assert clean_search_attributes({name: "Keyword"}) == {name: "Keyword"}


# --- tags and codec server -----------------------------------------------------------------------


def test_good_tags_are_kept() -> None:
    assert clean_tags({"team": "payments", "cost-center": "cc_42", "owner": "ops@example.com"}) == {
        "team": "payments",
        "cost-center": "cc_42",
        "owner": "ops@example.com",
    }


BAD_TAGS: list[tuple[str, Any, str]] = [
    ("11 tags", {f"k{i}": "v" for i in range(11)}, "11 tags given; a namespace may have at most 10"),
    ("an upper-case key", {"Team": "x"}, "tag key 'Team' is not valid: 1–63 characters"),
    ("an empty value", {"team": ""}, r"the value of tag 'team' \(''\) is not valid"),
    ("a 64-character value", {"team": "x" * 64}, "the value of tag 'team'"),
    ("a space", {"team": "a b"}, "the value of tag 'team'"),
    ("not a mapping", ["team"], "tags must be key → value"),
]


@pytest.mark.parametrize(("case", "tags", "message"), BAD_TAGS, ids=[b[0] for b in BAD_TAGS])
def test_bad_tags_are_refused(case: str, tags: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        clean_tags(tags)


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://codec.example.com",
        "https://codec.example.com:8443/decode",
        "http://localhost:8888",
        "http://127.0.0.1:1",
    ],
)
def test_https_or_local_http_codec_servers_are_accepted(endpoint: str) -> None:
    assert clean_codec_server(CodecServer(endpoint, True, True)) == CodecServer(endpoint, True, True)


BAD_CODECS: list[tuple[str, CodecServer, str]] = [
    ("plain http", CodecServer("http://codec.example.com"), "must start with https://"),
    ("no scheme", CodecServer("codec.example.com"), "must start with https://"),
    ("ftp", CodecServer("ftp://codec.example.com"), "must start with https://"),
    ("no host", CodecServer("https://"), "must start with https://"),
    ("credentials", CodecServer("https://user:pw@codec.example.com"), "may not hold a user name or password"),
    ("a bad port", CodecServer("https://codec.example.com:99999"), "is not a valid URL"),
    ("flags without endpoint", CodecServer("", pass_access_token=True), "set a codec server endpoint"),
]


@pytest.mark.parametrize(("case", "codec", "message"), BAD_CODECS, ids=[b[0] for b in BAD_CODECS])
def test_bad_codec_servers_are_refused(case: str, codec: CodecServer, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        clean_codec_server(codec)


# --- a whole spec -------------------------------------------------------------------------------


def test_a_whole_spec_is_cleaned() -> None:
    spec = clean_spec(
        NamespaceSpec(
            retention_days=7,
            ca_bundle_pem=ROOT.pem,
            cert_filters=[{"common_name": "*.example.com"}],
            search_attributes=[("CustomerId", "keyword")],
            codec_server=CodecServer(" https://codec.example.com "),
            tags={"team": "payments"},
        ),
        now=NOW,
    )
    assert spec.search_attributes == {"CustomerId": "Keyword"}
    assert spec.codec_server.endpoint == "https://codec.example.com"
    assert spec.cert_filters[0]["organization"] == ""


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (NamespaceSpec(api_key_auth=False), "a namespace needs API-key access, a CA bundle .mTLS., or both"),
        (NamespaceSpec(cert_filters=[{"common_name": "x"}]), "certificate filters need a CA bundle"),
        (NamespaceSpec(retention_days=0), "retention must be 1–90 days, not 0"),
    ],
)
def test_rules_between_fields(spec: NamespaceSpec, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        clean_spec(spec, now=NOW)


def test_mtls_only_is_a_way_in() -> None:
    assert clean_spec(NamespaceSpec(api_key_auth=False, ca_bundle_pem=ROOT.pem), now=NOW).api_key_auth is False

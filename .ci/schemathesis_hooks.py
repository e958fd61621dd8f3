"""Generators for the custom string formats the OpenAPI document names (see src/types/schema.rs):
the part of each value type's rule a pattern cannot say (a Luhn digit, host bits, a country's
number lengths), so schemathesis' positive cases are values the server must accept."""

import html
import ipaddress
import re
from datetime import datetime, timedelta, timezone

import schemathesis
from hypothesis import strategies as st

HEX = "0123456789abcdef"


def _mac(octets):
    return ":".join(f"{o:02x}" for o in octets)


# A unicast MAC (first octet even), not all zero.
mac = st.tuples(
    st.integers(0, 127).map(lambda o: o * 2),
    *[st.integers(0, 255) for _ in range(5)],
).filter(lambda t: any(t)).map(_mac)


def _luhn_complete(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


iccid = st.tuples(st.sampled_from([17, 18]), st.randoms()).map(
    lambda t: _luhn_complete("89" + "".join(t[1].choice("0123456789") for _ in range(t[0] - 1)))
)

ipv4_net = st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32)).map(
    lambda t: str(ipaddress.ip_network((t[0], t[1]), strict=False))
)
ipv6_net = st.tuples(st.integers(0, 2**128 - 1), st.integers(0, 128)).map(
    lambda t: str(ipaddress.ip_network((t[0], t[1]), strict=False))
)
cidr = st.one_of(ipv4_net, ipv6_net)

# E.164 numbers every table entry takes: NANP (area code and exchange 2-9) and UK London.
nanp = st.tuples(st.integers(2, 9), st.integers(0, 99), st.integers(2, 9), st.integers(0, 999999)).map(
    lambda t: f"+1{t[0]}{t[1]:02d}{t[2]}{t[3]:06d}"
)
london = st.integers(0, 99999999).map(lambda n: f"+4420{n:08d}")
e164 = st.one_of(nanp, london)

host = st.sampled_from(["127.0.0.1", "gw.example.com", "[::1]", "pbx.example.org"])
port = st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}"))
transport = st.sampled_from(["", ";transport=udp", ";transport=tcp"])
user = st.sampled_from(["", "alice@", "201@"])
sip_uri = st.tuples(user, host, port, transport).map(lambda t: f"sip:{t[0]}{t[1]}{t[2]}{t[3]}")

# A time to come (an API key's expiry): a minute to five years from now, RFC 3339 in UTC.
future_date_time = st.integers(60, 5 * 365 * 86400).map(
    lambda s: (datetime.now(timezone.utc) + timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ")
)

# An operator's destination regex (Rust `regex` syntax): atoms, each complete with its quantifier,
# so every concatenation compiles (Python's `re` syntax has lookarounds and backreferences that
# Rust's does not).
regex_atom = st.sampled_from(
    [r"\+", r"\d", "[2-9]", r"\d{3}", "1", "44", "(?:7|8)", ".", r"\d+", r"\d*", "[0-9]{1,4}", "#"]
)
rust_regex = st.lists(regex_atom, min_size=1, max_size=8).map("".join)

schemathesis.openapi.format("mac", mac)
schemathesis.openapi.format("rust-regex", rust_regex)
schemathesis.openapi.format("iccid", iccid)
schemathesis.openapi.format("cidr", cidr)
schemathesis.openapi.format("e164", e164)
schemathesis.openapi.format("phone-number", e164)
schemathesis.openapi.format("sip-uri", sip_uri)
schemathesis.openapi.format("future-date-time", future_date_time)


def _utc_seconds(text):
    """Seconds since 0001-01-01 UTC of an RFC 3339 time, without the datetime range (an offset
    may put year 1 before it)."""
    t = datetime.fromisoformat(text.replace("z", "Z"))
    offset = t.utcoffset() or timedelta(0)
    return (t.replace(tzinfo=None) - datetime(1, 1, 1)).total_seconds() - offset.total_seconds()


def _luhn_valid(digits):
    return digits.isdigit() and _luhn_complete(digits[:-1]) == digits


# The coverage phase builds values from a field's pattern and does not run the custom format
# strategies above, so it sends values the pattern allows and the format refuses: an ICCID whose
# check digit is wrong, a national number of the wrong length for the organization's country.
# Such a value is not schema-valid (its format says so), so the documented 400 naming the field
# with that format's refusal is not counted, when the value is indeed one the format refuses (a
# wrong Luhn digit; a number no strategy above generates). Any other answer still is counted.
NANP_OR_LONDON = re.compile(r"^\+1[2-9][0-9]{2}[2-9][0-9]{6}$|^\+4420[0-9]{8}$")
FORMAT_REFUSALS = {
    "iccid": ("check digit (Luhn) does not match", lambda v: not _luhn_valid(_digits(v))),
    "number": ("number: not a valid ", lambda v: not NANP_OR_LONDON.match(v.strip())),
}


def _digits(value):
    return value.strip().replace(" ", "").replace("-", "")


def _refused_for_format_part(case, response):
    if response.status_code != 400:
        return False
    fields = dict(case.query or {})
    if isinstance(case.body, dict):
        fields.update(case.body)
    for field, (refusal, refused_by_format) in FORMAT_REFUSALS.items():
        value = fields.get(field)
        message = _message(response)
        if (
            isinstance(value, str)
            and message.startswith(f"{field}: ")
            and refusal in message
            and refused_by_format(value)
        ):
            return True
    return False


# An import's CSV is a language of its own: a header naming a `number` column, then rows whose
# numbers must be valid in their organization's country and unique in the file and the store.
# A JSON Schema string cannot state that, so the documented 400 for the file's content (a
# message naming `csv`, or the row list) is not counted; any other refusal, and any other
# answer, still is.
def _refused_csv_content(case, response):
    if response.status_code != 400:
        return False
    try:
        body = response.json()
    except ValueError:
        return _message(response).startswith("csv:") or "<errors" in response.text
    return str(body.get("message", "")).startswith("csv:") or bool(body.get("errors"))


# The coverage phase may "violate `format`" of a nullable integer (`type: [integer, null]`,
# `format: int64`) by sending null, which its type allows and a format does not constrain: the
# request is valid, so its acceptance is no failure. Only a format mutation whose sent value is
# null is not counted.
FORMAT_MUTATION = re.compile(r"violates `format` at (\S+)")


def _format_mutation_sent_null(failure, case):
    found = FORMAT_MUTATION.search(str(getattr(failure, "message", "")))
    if not found or not isinstance(case.body, dict):
        return False
    value = case.body
    names = re.findall(r"properties/([^/]+)", found.group(1))
    for name in names:
        if not isinstance(value, dict) or name not in value:
            return False
        value = value[name]
    return bool(names) and value is None


# A call queue deleted with `DELETE /v1/queues/{name}` comes back with its PBX's next report
# (`POST /v1/queues/{name}/stats`), a path "Deleted resource still available" does not count
# as re-creating it. Each queue's last delete and last accepted report are tracked in call
# order; a read answering after a report that followed the delete is not counted.
QUEUE_CALLS = {"n": 0, "deleted": {}, "reported": {}}


@schemathesis.hook
def after_call(ctx, case, response):
    if not case.path.startswith("/v1/queues/{name}") or not 200 <= response.status_code < 300:
        return
    QUEUE_CALLS["n"] += 1
    name = str((case.path_parameters or {}).get("name"))
    method = case.method.upper()
    if method == "DELETE" and case.path == "/v1/queues/{name}":
        QUEUE_CALLS["deleted"][name] = QUEUE_CALLS["n"]
    elif method == "POST" and case.path == "/v1/queues/{name}/stats":
        QUEUE_CALLS["reported"][name] = QUEUE_CALLS["n"]


def _queue_reported_since_deleted(case):
    if not case.path.startswith("/v1/queues/{name}"):
        return False
    name = str((case.path_parameters or {}).get("name"))
    return QUEUE_CALLS["reported"].get(name, -1) > QUEUE_CALLS["deleted"].get(name, 0)


def _eventlog_inverted(case, response):
    query = case.query or {}
    try:
        inverted = _utc_seconds(str(query["until"])) < _utc_seconds(str(query["since"]))
    except (KeyError, ValueError, OverflowError):
        return False
    return inverted and response.status_code == 400 and "until: must not be before since" in response.text


def _message(response):
    """The error message of a JSON or XML error body."""
    try:
        return str(response.json().get("message", ""))
    except ValueError:
        found = re.search(r"<message>(.*?)</message>", response.text, re.S)
        return html.unescape(found.group(1)) if found else ""


# POST /v1/dialplans/templates/{name}/instantiate: the body's bindings are documented as the
# variables of one of the shipped templates, but which template's depends on the path, a
# relation between the path and the body that a schema cannot state. Only the refusal naming
# such a variable (unbound, or not the template's) is excused.
def _bindings_for_another_template(case, response):
    message = _message(response)
    return response.status_code == 400 and bool(
        re.fullmatch(r'bindings\.\w+: (variable "\w+" is not bound .*|template "[\w-]+" has no variable "\w+")', message)
    )


def _clock(text):
    return text if len(text) > 5 else text + ":00"


# A policy's time window: `to` equal to `from` (an empty window), `date_to` before
# `date_from`, or a weekday named twice (`mon`, `Monday`) are refused with a 400 naming the
# field: relations between fields (or items) that a schema cannot state. Only those refusals
# of a window that really has that relation are excused.
def _window_relation(case, response):
    if response.status_code != 400:
        return False
    found = re.match(r"rules\[(\d+)\]\.match\.time\[(\d+)\]\.(to|date_to|weekdays): ", _message(response))
    if not found:
        return False
    try:
        window = case.body["rules"][int(found.group(1))]["match"]["time"][int(found.group(2))]
        field = found.group(3)
        if field == "to":
            return _clock(window["to"]) == _clock(window["from"])
        if field == "date_to":
            return window["date_to"] < window["date_from"]
        days = [str(d).lower()[:3] for d in window["weekdays"]]
        return len(set(days)) < len(days)
    except (KeyError, IndexError, TypeError, ValueError):
        return False


EXCUSES = {
    "/v1/eventlog/{orgId}": _eventlog_inverted,
    "/v1/dialplans/templates/{name}/instantiate": _bindings_for_another_template,
    "/v1/dialplans": _window_relation,
    "/v1/dialplans/{id}": _window_relation,
}


# GET /v1/eventlog/{orgId} refuses a window whose `until` is before its `since` (a documented
# 400 naming `until`): a rule between two parameters, which a schema cannot state. Only that
# refusal of such a request is not counted as a schema-valid request rejected; any other answer
# to it, and every other refusal, still is. The dial plan excuses above are of the same kind.
#
# ST302 ("created resource not found") counts any 404 to a request on what a POST created; but
# a 404 naming a field of the body (`policy_ids[0]: policy 7 not found`, see `Error::missing`)
# is about another object the body names, which the created one does not make exist. Only
# such a 404 is excused; a 404 for the created object itself (`policy group not found`) counts.
@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    code = getattr(failure, "code", None)
    if code == "ST301":
        return not _queue_reported_since_deleted(case)
    if code == "ST302":
        named = re.match(r"[a-z_]+(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*: .* not found\b", _message(response))
        return not (response.status_code == 404 and named)
    if code == "ST201":
        return not _format_mutation_sent_null(failure, case)
    if code != "ST202":
        return True
    if _refused_for_format_part(case, response):
        return False
    if case.operation.path == "/v1/numbers/import" and _refused_csv_content(case, response):
        return False
    excuse = EXCUSES.get(case.operation.path)
    return not (excuse and excuse(case, response))

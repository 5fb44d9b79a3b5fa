"""What happens to a message on a simulated network: "this number always fails, that one
delivers after 3 s, 5% random failures with seed 42".

Used by the handset simulator connector and by the bundled SMPP SMSC (`openxms smsc`), so a
number behaves the same behind either. Rules are tried in order on the digits-only MSISDN and
the first match wins; a rule either names a profile or fixes an outcome; numbers no rule
matches get the default profile. Randomness is a hash of (seed, msisdn, key), not a shared RNG,
so a message gets the same outcome on every run, in any order, on any worker.

Default magic numbers (user-facing), by the last four digits; codes from Sinch's SMPP error
table (https://developers.sinch.com/docs/sms/smpp/error-codes) and the REST status codes
(https://developers.sinch.com/docs/sms/api-reference/status-codes/):

    0001  Failed, code 153 (HLR: absent subscriber)
    0002  Expired, code 201 (MSC: absent subscriber, IMSI detached - away past the validity period)
    0003  Rejected at submit, code 408 (Internal Reject; the SMSC answers submit_sm with an error)
    0004  Deleted, code 150 (HLR: unknown subscriber - the carrier drops it as an invalid number)
    0005  no receipt ever (profile "dead"): Dispatched until the engine gives up (Unknown, 401)
    0006  profile "slow": Delivered after 2-5 s

User rules go before these (so they can override them); `"default_rules": false` drops them.

Built-in profiles:

    healthy     Delivered at once (0 ms, so tests and benchmarks do not wait)
    slow        Delivered after 2-5 s
    flaky       5% Failed (code 153), the rest Delivered
    dead        accepted, but no receipt ever comes (a blackhole carrier): Unknown, 401
    rejecting   every submit refused: Rejected, code 408
    throttling  half the submits refused as "throttled": the SMSC answers ESME_RTHROTTLED
                (Outcome.throttled, code 88 = 0x58) and the client backs off and resends (with
                a new key, so a new draw); the handset simulator has no SMSC to throttle it
                and delivers such messages
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from fnmatch import translate
from typing import Any

STATUSES = ("Delivered", "Failed", "Expired", "Rejected", "Deleted", "Unknown")
SMPP_STATE = {
    "Delivered": "DELIVRD",
    "Failed": "UNDELIV",
    "Expired": "EXPIRED",
    "Rejected": "REJECTD",
    "Deleted": "DELETED",
    "Unknown": "UNKNOWN",
}
C_INTERNAL_REJECT = 408  # Sinch status codes: "Internal reject" (the SMSC refused it)
C_DISPATCHED = 401  # what the engine reports with Unknown when no receipt ever came
C_THROTTLED = 0x58  # SMPP ESME_RTHROTTLED
# The code a fixed rule gets when it names only a status.
DEFAULT_CODES = {
    "Delivered": 0,
    "Failed": 153,
    "Expired": 201,
    "Rejected": C_INTERNAL_REJECT,
    "Deleted": 150,
    "Unknown": C_DISPATCHED,
}


@dataclass(frozen=True)
class Outcome:
    accept: bool  # False: refused at submit time (Sinch status Rejected, SMPP submit_sm_resp error)
    status: str  # final Sinch status the receipt reports
    code: int  # Sinch DR code: 0 for Delivered, an SMPP-style error code otherwise
    delay_ms: int  # dispatch -> receipt
    receipt: bool = True  # False: no receipt ever comes; status is then Unknown/401, what the
    # engine reports when it gives up waiting
    throttled: bool = False  # refused only for now: the SMSC answers ESME_RTHROTTLED

    @property
    def smpp_state(self) -> str:
        """The receipt's `stat:` word."""
        return SMPP_STATE[self.status]


@dataclass(frozen=True)
class Profile:
    name: str
    delay_ms: tuple[int, int] = (0, 0)  # uniform in [min, max)
    failure_probability: float = 0.0  # of an accepted message ending as failure_status
    failure_status: str = "Failed"
    failure_code: int = 153
    accept_probability: float = 1.0  # of a submit being accepted; a refused one is Rejected, with
    # failure_code if failure_status is "Rejected", else 408
    receipt: bool = True
    throttle: bool = False  # a refused submit is "throttled" (retry later), not Rejected


@dataclass(frozen=True)
class Rule:
    match: str  # glob on the digits-only MSISDN ("*0001", "4670*") or "re:<regex>"
    profile: str | None = None  # either a named profile ...
    status: str | None = None  # ... or a fixed outcome (unset fields: Delivered, code 0, at once)
    code: int | None = None
    delay_ms: int | None = None
    accept: bool | None = None
    receipt: bool | None = None


BUILTIN_PROFILES = {
    p.name: p
    for p in (
        Profile("healthy"),
        Profile("slow", delay_ms=(2000, 5000)),
        Profile("flaky", failure_probability=0.05),
        Profile("dead", receipt=False),
        Profile("rejecting", accept_probability=0.0, failure_status="Rejected", failure_code=C_INTERNAL_REJECT),
        Profile("throttling", accept_probability=0.5, throttle=True),
    )
}

DEFAULT_RULES = (
    Rule("*0001", status="Failed", code=153),
    Rule("*0002", status="Expired", code=201),
    Rule("*0003", accept=False, status="Rejected", code=C_INTERNAL_REJECT),
    Rule("*0004", status="Deleted", code=150),
    Rule("*0005", profile="dead"),
    Rule("*0006", profile="slow"),
)

_FIXED = ("status", "code", "delay_ms", "accept", "receipt")
_GLOB_CHARS = re.compile(r"[*?\[]")
_NOT_DIGITS = re.compile(r"\D")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class RulesError(ValueError):
    """A bad rules setting. `key` is where, as a path inside the rules document
    (`profiles.slow.delay_ms`, `rules[2].status`), so the TOML loader can name the key
    (`simulator.rules[2].status`) and `PUT /simulator/rules` can say which field is wrong."""

    def __init__(self, key: str, problem: str, unknown: bool = False) -> None:
        self.key, self.problem, self.unknown = key, problem, unknown
        super().__init__(f"unknown key {key!r}" if unknown else f"{key}: {problem}" if key else problem)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _name(key: Any) -> str:
    """A profile name as a key path segment: quoted unless it is a bare TOML key."""
    return key if isinstance(key, str) and _BARE_KEY.fullmatch(key) else json.dumps(str(key))


def _check_unknown(where: str, d: dict[str, Any], known: Any) -> None:
    for k in d:
        if k not in known:
            raise RulesError(f"{where}.{_name(k)}" if where else _name(k), "unknown key", unknown=True)


def _check_status(where: str, status: Any) -> None:
    if status not in STATUSES:
        raise RulesError(where, f"unknown status {status!r}; one of {', '.join(STATUSES)}")


def _check_profile(key: str, p: Profile) -> Profile:
    where = f"profiles.{_name(key)}"
    d = p.delay_ms
    if not (isinstance(d, (tuple, list)) and len(d) == 2 and all(_is_int(x) for x in d)):
        raise RulesError(f"{where}.delay_ms", "must be a number of ms or [min, max]")
    if d[0] < 0 or d[1] < d[0]:
        raise RulesError(f"{where}.delay_ms", "must be [min, max] with 0 <= min <= max")
    for name in ("failure_probability", "accept_probability"):
        v = getattr(p, name)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0.0 <= v <= 1.0:
            raise RulesError(f"{where}.{name}", "must be a number between 0 and 1")
    _check_status(f"{where}.failure_status", p.failure_status)
    if not _is_int(p.failure_code) or p.failure_code < 0:
        raise RulesError(f"{where}.failure_code", "must be a non-negative integer")
    for name in ("receipt", "throttle"):
        if not isinstance(getattr(p, name), bool):
            raise RulesError(f"{where}.{name}", "must be true or false")
    return p if p.name == key and isinstance(d, tuple) else Profile(**{**asdict(p), "name": key, "delay_ms": tuple(d)})


def _matcher(where: str, match: Any) -> Callable[[str], Any]:
    """A fast test for one pattern: plain suffix/prefix/equality for the usual globs."""
    if not isinstance(match, str) or not match:
        raise RulesError(f"{where}.match", f"must be a non-empty pattern, not {match!r}")
    if match.startswith("re:"):
        try:
            return re.compile(match[3:]).fullmatch
        except re.error as e:
            raise RulesError(f"{where}.match", f"bad regex {match[3:]!r}: {e}") from None
    head, tail = match[:1], match[1:]
    if head == "*" and not _GLOB_CHARS.search(tail):
        return lambda s: s.endswith(tail)
    if match[-1] == "*" and not _GLOB_CHARS.search(match[:-1]):
        prefix = match[:-1]
        return lambda s: s.startswith(prefix)
    if not _GLOB_CHARS.search(match):
        return match.__eq__
    return re.compile(translate(match)).match  # translate() anchors at the end itself


def _fixed_outcome(where: str, r: Rule) -> Outcome:
    if r.status is not None:
        _check_status(f"{where}.status", r.status)
    if r.code is not None and (not _is_int(r.code) or r.code < 0):
        raise RulesError(f"{where}.code", "must be a non-negative integer")
    if r.delay_ms is not None and (not _is_int(r.delay_ms) or r.delay_ms < 0):
        raise RulesError(f"{where}.delay_ms", "must be a non-negative integer")
    for name in ("accept", "receipt"):
        if getattr(r, name) not in (None, True, False):
            raise RulesError(f"{where}.{name}", "must be true or false")
    if r.accept is False:
        if r.status not in (None, "Rejected"):
            raise RulesError(f"{where}.status", "a message refused at submit (accept = false) can only be Rejected")
        return Outcome(False, "Rejected", C_INTERNAL_REJECT if r.code is None else r.code, 0, receipt=False)
    status = r.status or ("Unknown" if r.receipt is False else "Delivered")
    code = DEFAULT_CODES[status] if r.code is None else r.code
    return Outcome(True, status, code, r.delay_ms or 0, r.receipt is not False)


@dataclass(frozen=True)
class Explanation:
    """What the rules do with one number (`OutcomeRules.explain`)."""

    msisdn: str  # the digits the rules were tried on
    source: str  # "rules" (the user's), "magic_numbers" (the defaults) or "default_profile"
    index: int | None  # the rule's index in that list (None: the default profile)
    rule: Rule | None
    profile: Profile | None  # the profile drawn from (None: a fixed outcome)
    chance: bool  # the outcome depends on the message (its key), not only on the number
    outcome: Outcome | None  # None: it depends on the message and no key was given


_M64, _TO_UNIT = (1 << 64) - 1, 2.0**-64


def _fractions(seed: int, msisdn: str, key: Any) -> tuple[float, float, float]:
    """Three independent uniform numbers in [0, 1) (accept, fail, delay), fixed by
    (seed, msisdn, key): one 192-bit hash cut in three."""
    x = int.from_bytes(hashlib.blake2b(f"{seed}|{msisdn}|{key}".encode(), digest_size=24).digest(), "little")
    return (x & _M64) * _TO_UNIT, (x >> 64 & _M64) * _TO_UNIT, (x >> 128) * _TO_UNIT


@dataclass
class OutcomeRules:
    rules: tuple[Rule, ...] = DEFAULT_RULES
    profiles: dict[str, Profile] = field(default_factory=dict)  # added to / overriding the built-ins
    default_profile: str = "healthy"
    seed: int = 0

    def __post_init__(self) -> None:
        if not _is_int(self.seed):
            raise RulesError("seed", f"must be an integer, not {self.seed!r}")
        self.rules = tuple(self.rules)
        self.profiles = {**BUILTIN_PROFILES, **{k: _check_profile(k, p) for k, p in self.profiles.items()}}
        if not isinstance(self.default_profile, str) or self.default_profile not in self.profiles:
            raise RulesError("default_profile", f"unknown default profile {self.default_profile!r}")
        # (test, outcome if it involves no chance, profile): decided once, here. User rules
        # come first, so a rule's index is its index in the `rules` list it was given in.
        self._compiled: list[tuple[Callable[[str], Any], Outcome | None, Profile | None]] = []
        for i, r in enumerate(self.rules):
            where = f"rules[{i}]"
            if not isinstance(r, Rule):
                raise RulesError(where, f"not a rule: {r!r}")
            test = _matcher(where, r.match)
            if r.profile is None:
                self._compiled.append((test, _fixed_outcome(where, r), None))
                continue
            if any(getattr(r, f) is not None for f in _FIXED):
                raise RulesError(where, "give either a profile or a fixed outcome, not both")
            if not isinstance(r.profile, str) or r.profile not in self.profiles:
                raise RulesError(f"{where}.profile", f"unknown profile {r.profile!r}")
            p = self.profiles[r.profile]
            self._compiled.append((test, self._constant_outcome(p), p))
        self._default = self.profiles[self.default_profile]
        self._default_fixed = self._constant_outcome(self._default)

    @staticmethod
    def _constant_outcome(p: Profile) -> Outcome | None:
        """The outcome of a profile that involves no chance at all (healthy, dead, ...)."""
        lo, hi = p.delay_ms
        if lo != hi or p.failure_probability not in (0, 1) or p.accept_probability not in (0, 1):
            return None
        return OutcomeRules._outcome(p, (0.0, 0.0, 0.0))

    @staticmethod
    def _outcome(p: Profile, f: tuple[float, float, float]) -> Outcome:
        accept, fail, delay = f
        if accept >= p.accept_probability:
            if p.throttle:
                return Outcome(False, "Rejected", C_THROTTLED, 0, receipt=False, throttled=True)
            code = p.failure_code if p.failure_status == "Rejected" else C_INTERNAL_REJECT
            return Outcome(False, "Rejected", code, 0, receipt=False)
        lo, hi = p.delay_ms
        delay_ms = lo + int((hi - lo) * delay)
        if not p.receipt:
            return Outcome(True, "Unknown", C_DISPATCHED, delay_ms, receipt=False)
        if fail < p.failure_probability:
            return Outcome(True, p.failure_status, p.failure_code, delay_ms)
        return Outcome(True, "Delivered", 0, delay_ms)

    def _find(self, msisdn: str) -> int:
        """The index of the first rule matching the digits `msisdn`; -1: the default profile."""
        for i, (test, _, _) in enumerate(self._compiled):
            if test(msisdn):
                return i
        return -1

    def decide(self, msisdn: str, key: str | int) -> Outcome:
        """The outcome for one message to `msisdn`; `key` tells messages apart (recipient row
        id, submit counter) and the same (seed, msisdn, key) always gives the same outcome."""
        if not msisdn.isdigit():
            msisdn = _NOT_DIGITS.sub("", msisdn)
        i = self._find(msisdn)
        fixed, profile = (self._default_fixed, self._default) if i < 0 else self._compiled[i][1:]
        if fixed is not None:
            return fixed
        assert profile is not None  # a rule has either a fixed outcome or a profile
        return self._outcome(profile, _fractions(self.seed, msisdn, key))

    def explain(self, msisdn: str, key: str | int | None = None) -> Explanation:
        """Which rule `decide` applies to `msisdn` and, when it involves no chance or `key` is
        given, the outcome it returns (by `decide` itself)."""
        digits = _NOT_DIGITS.sub("", msisdn)
        i = self._find(digits)
        fixed, profile = (self._default_fixed, self._default) if i < 0 else self._compiled[i][1:]
        own = len(self.rules) - len(DEFAULT_RULES) if self.rules[-len(DEFAULT_RULES) :] == DEFAULT_RULES else None
        if i < 0:
            where, index = "default_profile", None
        elif own is not None and i >= own:
            where, index = "magic_numbers", i - own
        else:
            where, index = "rules", i
        outcome = fixed if fixed is not None else None if key is None else self.decide(digits, key)
        rule = None if i < 0 else self.rules[i]
        return Explanation(digits, where, index, rule, profile, fixed is None, outcome)

    # config / JSON -----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OutcomeRules:
        """From config (TOML `[simulator]`) or `PUT /simulator/rules`. User rules come before the
        magic numbers unless `"default_rules": false`. `delay_ms` may be one number or [min, max].
        An unknown key or a bad value raises `RulesError` naming it."""
        if not isinstance(d, dict):
            raise RulesError("", "simulator rules must be an object")
        # builtin_profiles and magic_numbers are informational (to_dict), accepted so that what
        # GET /simulator/rules returns can be PUT back.
        _check_unknown(
            "",
            d,
            ("seed", "default_profile", "profiles", "rules", "default_rules", "builtin_profiles", "magic_numbers"),
        )
        if not isinstance(d.get("default_rules", True), bool):
            raise RulesError("default_rules", "must be true or false")
        raw_profiles = d.get("profiles") or {}
        if not isinstance(raw_profiles, dict):
            raise RulesError("profiles", "must be an object of name -> profile")
        profile_fields = {f.name for f in fields(Profile)} - {"name"}
        profiles = {}
        for name, p in raw_profiles.items():
            if not isinstance(p, dict):
                raise RulesError(f"profiles.{_name(name)}", "must be an object")
            _check_unknown(f"profiles.{_name(name)}", p, profile_fields)
            p = dict(p)
            v = p.get("delay_ms")
            if _is_int(v):
                p["delay_ms"] = (v, v)
            elif isinstance(v, list):
                p["delay_ms"] = tuple(v)
            profiles[str(name)] = Profile(name=str(name), **p)
        raw_rules = d.get("rules") or []
        if not isinstance(raw_rules, list):
            raise RulesError("rules", "must be a list")
        rule_fields = {f.name for f in fields(Rule)}
        rules = []
        for i, r in enumerate(raw_rules):
            if not isinstance(r, dict) or "match" not in r:
                raise RulesError(f"rules[{i}]", "each rule must be an object with a 'match' pattern")
            _check_unknown(f"rules[{i}]", r, rule_fields)
            rules.append(Rule(**r))
        if d.get("default_rules", True):
            rules += DEFAULT_RULES
        return cls(tuple(rules), profiles, d.get("default_profile", "healthy"), d.get("seed", 0))

    def to_dict(self) -> dict[str, Any]:
        """Inverse of from_dict (`from_dict(to_dict())` behaves the same), plus the built-in
        profile names and the magic numbers for display (from_dict ignores those two)."""
        n = len(DEFAULT_RULES)
        keep_defaults = self.rules[-n:] == DEFAULT_RULES if len(self.rules) >= n else False
        own = self.rules[:-n] if keep_defaults else self.rules

        def plain(x: Any) -> dict[str, Any]:
            return {
                k: list(v) if isinstance(v, tuple) else v for k, v in asdict(x).items() if v is not None and k != "name"
            }

        return {
            "seed": self.seed,
            "default_profile": self.default_profile,
            "default_rules": keep_defaults,
            "profiles": {k: plain(p) for k, p in self.profiles.items() if BUILTIN_PROFILES.get(k) != p},
            "rules": [plain(r) for r in own],
            "builtin_profiles": sorted(BUILTIN_PROFILES),
            "magic_numbers": [plain(r) for r in DEFAULT_RULES],
        }

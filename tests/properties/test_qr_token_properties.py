"""Property-based tests of the QR token parser: any string is a verified claim or one InvalidToken, and no
change to a genuine token, however small, is ever accepted."""

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.services.qr_tokens import TOKEN_PREFIX, InvalidToken, RefusalReason, TokenKind, issue, verify

KEY = b"0123456789abcdef0123456789abcdef"
KEYS = {"k1": KEY}
OPENS = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
NOON = OPENS + timedelta(hours=3)
FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

visit_ids = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20)


def genuine(visit_id: str = "v-42", kind: TokenKind = TokenKind.INVITATION) -> str:
    return issue(
        kind=kind, visit_id=visit_id, not_before=OPENS, not_after=OPENS + timedelta(hours=9), key_id="k1", key=KEY
    )


@FAST
@given(text=st.text(max_size=300) | st.text(alphabet=BASE64URL, max_size=200).map(lambda t: TOKEN_PREFIX + t))
def test_any_string_is_refused_with_a_reason_and_never_crashes_the_parser(text: str) -> None:
    try:
        verify(text, keys=KEYS, now=NOON)
    except InvalidToken as refused:
        assert isinstance(refused.reason, RefusalReason)
        assert str(refused), "a refusal always says why in words"
    else:
        raise AssertionError(f"an unsigned string verified: {text!r}")


@FAST
@given(visit_id=visit_ids, kind=st.sampled_from(list(TokenKind)))
def test_a_genuine_token_verifies_to_what_was_issued(visit_id: str, kind: TokenKind) -> None:
    claims = verify(genuine(visit_id, kind), keys=KEYS, now=NOON, kind=kind)
    assert (claims.visit_id, claims.kind) == (visit_id, kind)


@FAST
@given(visit_id=visit_ids, data=st.data())
def test_changing_any_one_character_of_a_genuine_token_is_refused(visit_id: str, data: st.DataObject) -> None:
    token = genuine(visit_id)
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1), label="position")
    replacement = data.draw(st.sampled_from(BASE64URL + ".="), label="replacement")
    altered = token[:position] + replacement + token[position + 1 :]
    if altered == token:
        return
    try:
        claims = verify(altered, keys=KEYS, now=NOON)
    except InvalidToken as refused:
        assert refused.reason in {RefusalReason.MALFORMED, RefusalReason.UNKNOWN_KEY, RefusalReason.BAD_SIGNATURE}
    else:
        # base64 without padding leaves a few low bits of the last character unused: the same bytes.
        assert claims == verify(token, keys=KEYS, now=NOON), f"altered token {altered!r} verified differently"


@FAST
@given(visit_id=visit_ids, key=st.binary(min_size=32, max_size=64))
def test_a_token_signed_with_another_key_is_refused(visit_id: str, key: bytes) -> None:
    if key == KEY:
        return
    forged = issue(
        kind=TokenKind.INVITATION,
        visit_id=visit_id,
        not_before=OPENS,
        not_after=OPENS + timedelta(hours=9),
        key_id="k1",
        key=key,
    )
    try:
        verify(forged, keys=KEYS, now=NOON)
    except InvalidToken as refused:
        assert refused.reason is RefusalReason.BAD_SIGNATURE
    else:
        raise AssertionError("a token signed with a stranger's key verified")

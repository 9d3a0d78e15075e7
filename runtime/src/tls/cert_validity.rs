//! The validity period of an X.509 certificate, read straight from its DER encoding.
//!
//! webpki does not check the dates of trust anchors (Go's crypto/x509 does), so an expired CA in
//! `ca.crt` would be trusted; this reads `tbsCertificate.validity` (RFC 5280 §4.1.2.5) so that
//! such anchors can be refused. Only that one field is needed, so it is a small walk over DER
//! rather than a full X.509 parser: `x509-parser` (nom, asn1-rs, der-parser, time) or
//! `x509-cert` (der, spki, const-oid) would each add several crates to every user's build for
//! two timestamps, and `rustls-webpki`, already here, parses the field but does not expose it.
//! The walk is bounded by the input (lengths are checked before every split) and fuzzed by the
//! property tests below.

use crate::time::{civil_seconds, digits, UnixSeconds};

/// `(notBefore, notAfter)`, or `None` if the certificate is not DER as RFC 5280 lays it out.
pub(crate) fn validity(cert: &[u8]) -> Option<(UnixSeconds, UnixSeconds)> {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const VERSION: u8 = 0xa0; // [0] EXPLICIT
    let (certificate, _) = expect(cert, SEQUENCE)?;
    let (tbs, _) = expect(certificate, SEQUENCE)?;
    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = expect(rest, VERSION)?.1;
    }
    rest = expect(rest, INTEGER)?.1; // serialNumber
    rest = expect(rest, SEQUENCE)?.1; // signature AlgorithmIdentifier
    rest = expect(rest, SEQUENCE)?.1; // issuer Name
    let (validity, _) = expect(rest, SEQUENCE)?;
    let (not_before_tag, not_before, rest) = element(validity)?;
    let (not_after_tag, not_after, _) = element(rest)?;
    Some((
        time(not_before_tag, not_before)?,
        time(not_after_tag, not_after)?,
    ))
}

/// The contents of an element with tag `tag`, and what follows it.
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, contents, rest) = element(input)?;
    (found == tag).then_some((contents, rest))
}

/// One DER element: `(tag, contents, rest)`. Only single-byte tags and definite lengths.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, input) = input.split_first()?;
    let (&first, mut input) = input.split_first()?;
    let length = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || input.len() < count {
            return None;
        }
        let (bytes, rest) = input.split_at(count);
        input = rest;
        bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    if input.len() < length {
        return None;
    }
    let (contents, rest) = input.split_at(length);
    Some((tag, contents, rest))
}

/// UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`), as RFC 5280 requires them.
fn time(tag: u8, text: &[u8]) -> Option<UnixSeconds> {
    const UTC_TIME: u8 = 0x17;
    const GENERALIZED_TIME: u8 = 0x18;
    let (year, rest) = match (tag, text.len()) {
        (UTC_TIME, 13) => {
            let yy = digits(&text[..2])?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &text[2..])
        }
        (GENERALIZED_TIME, 15) => (digits(&text[..4])?, &text[4..]),
        _ => return None,
    };
    if rest.last() != Some(&b'Z') {
        return None;
    }
    let two = |at: usize| digits(&rest[at..at + 2]);
    civil_seconds(year, two(0)?, two(2)?, two(4)?, two(6)?, two(8)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for (text, seconds) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2000-02-29T12:34:56Z", 951_827_696),
            ("2049-12-31T23:59:59Z", 2_524_607_999),
            ("1950-01-01T00:00:00Z", -631_152_000),
        ] {
            assert_eq!(crate::time::format_unix(seconds), text);
        }
        assert_eq!(time(0x17, b"000229123456Z"), Some(951_827_696));
        assert_eq!(time(0x18, b"20000229123456Z"), Some(951_827_696));
        assert_eq!(time(0x17, b"500101000000Z"), Some(-631_152_000));
    }

    #[test]
    fn malformed_input_is_none_not_a_panic() {
        for bad in [
            &b""[..],
            b"\x30",
            b"\x30\x85\x00\x00\x00\x00\x00",
            b"\x30\x03\x30\x01",
            b"\x30\x02\x30\x00",
        ] {
            assert_eq!(validity(bad), None);
        }
        assert_eq!(time(0x17, b"991301000000Z"), None, "month 13");
        assert_eq!(time(0x17, b"99010100000aZ"), None);
        assert_eq!(time(0x18, b"20000101000000"), None, "no Z");
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_none_or_a_validity(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = validity(&bytes);
        }
    }
}

//! Where a JSON value ends, found without decoding it: strings, escapes and nesting, eight bytes at
//! a time.

/// JSON's insignificant whitespace.
pub(super) fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// Finds where one JSON value ends, fed its bytes piece by piece. It checks no more than it
/// needs to find the end (strings, escapes and nesting); the decoder that reads the value
/// checks the rest. Nesting is a counter, never recursion.
pub(super) struct Scan {
    /// Open objects and arrays.
    depth: usize,
    in_string: bool,
    /// The last byte fed was a backslash inside a string.
    escaped: bool,
    /// The value is a number or literal, which ends at a delimiter.
    bare: bool,
    /// The value's first byte has been fed.
    started: bool,
}

impl Scan {
    pub(super) fn new(first: u8) -> Scan {
        Scan {
            depth: 0,
            in_string: false,
            escaped: false,
            bare: !matches!(first, b'{' | b'[' | b'"'),
            started: false,
        }
    }

    /// Feeds the next bytes of the value; `Some(n)`: the value ends after the first `n` of them.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut i = 0;
        if !self.started && !bytes.is_empty() {
            self.started = true;
            if !self.bare {
                match bytes[0] {
                    b'"' => self.in_string = true,
                    _ => self.depth = 1,
                }
                i = 1;
            }
        }
        if self.bare {
            return bytes[i..]
                .iter()
                .position(|b| is_whitespace(*b) || matches!(b, b',' | b']' | b'}'))
                .map(|n| i + n);
        }
        if self.depth > 0 {
            i += self.feed_words(&bytes[i..]);
            if self.depth == 0 {
                return Some(i);
            }
        }
        self.feed_bytes(&bytes[i..]).map(|n| i + n)
    }

    /// [`Scan::feed`] eight bytes at a time inside an object or array, while there are eight:
    /// how many bytes it read — up to and including the value's last byte if it ended (then
    /// `depth` is 0). Each kind of byte that matters becomes a mask with the top bit of its lanes
    /// set, the quotes' running parity says which lanes are inside a string, and only the
    /// brackets outside strings move the depth. A word with a backslash, or after one, goes byte
    /// by byte.
    fn feed_words(&mut self, bytes: &[u8]) -> usize {
        let (mut depth, mut in_string) = (self.depth, self.in_string);
        let mut read = 0;
        for chunk in bytes.chunks_exact(8) {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            if self.escaped || has_lane(word, b'\\') {
                (self.depth, self.in_string) = (depth, in_string);
                if let Some(n) = self.feed_bytes(chunk) {
                    return read + n;
                }
                (depth, in_string) = (self.depth, self.in_string);
                read += 8;
                continue;
            }
            let mut parity = lanes_equal(word, b'"');
            parity ^= parity << 8;
            parity ^= parity << 16;
            parity ^= parity << 32;
            let outside = if in_string { parity } else { !parity };
            in_string = outside & (1 << 63) == 0;
            let folded = word | (LANES * 0x20); // `[` → `{`, `]` → `}`
            let opens = lanes_equal(folded, b'{') & outside;
            let mut brackets = opens | (lanes_equal(folded, b'}') & outside);
            while brackets != 0 {
                let bit = brackets & brackets.wrapping_neg();
                if opens & bit != 0 {
                    depth += 1;
                } else {
                    depth -= 1;
                    if depth == 0 {
                        (self.depth, self.in_string) = (0, in_string);
                        return read + bit.trailing_zeros() as usize / 8 + 1;
                    }
                }
                brackets &= brackets - 1;
            }
            read += 8;
        }
        (self.depth, self.in_string) = (depth, in_string);
        read
    }

    /// [`Scan::feed`] one byte at a time, after the value's first byte.
    fn feed_bytes(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut i = 0;
        while i < bytes.len() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    i += 1;
                    continue;
                }
                i += string_stop(&bytes[i..])?;
                if bytes[i] == b'\\' {
                    self.escaped = true;
                } else {
                    self.in_string = false;
                    if self.depth == 0 {
                        return Some(i + 1);
                    }
                }
                i += 1;
                continue;
            }
            let n = bytes[i..].iter().position(|b| STRUCTURE[usize::from(*b)])?;
            i += n;
            match bytes[i] {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                _ => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return Some(i + 1);
                    }
                }
            }
            i += 1;
        }
        None
    }
}

/// One in each byte lane of a word.
const LANES: u64 = 0x0101_0101_0101_0101;
/// The top bit of each byte lane.
const TOPS: u64 = LANES * 0x80;

/// Whether a lane of `word` holds `byte`.
fn has_lane(word: u64, byte: u8) -> bool {
    let x = word ^ (LANES * u64::from(byte));
    x.wrapping_sub(LANES) & !x & TOPS != 0
}

/// The lanes of `word` that hold `byte`, as their top bit.
fn lanes_equal(word: u64, byte: u8) -> u64 {
    let x = word ^ (LANES * u64::from(byte));
    !(((x & !TOPS) + !TOPS) | x) & TOPS
}

/// The bytes that matter outside strings: `"`, `{`, `[`, `}`, `]`.
const STRUCTURE: [bool; 256] = {
    let mut table = [false; 256];
    table[b'"' as usize] = true;
    table[b'{' as usize] = true;
    table[b'[' as usize] = true;
    table[b'}' as usize] = true;
    table[b']' as usize] = true;
    table
};

/// Where the next `"` or `\` of a string is.
fn string_stop(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|b| matches!(b, b'"' | b'\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end_of(pieces: &[&str]) -> Option<usize> {
        let first = pieces.iter().find_map(|p| p.bytes().next()).unwrap();
        let mut scan = Scan::new(first);
        let mut seen = 0;
        for piece in pieces {
            if let Some(n) = scan.feed(piece.as_bytes()) {
                return Some(seen + n);
            }
            seen += piece.len();
        }
        None
    }

    #[test]
    fn finds_the_end_of_each_kind_of_value() {
        assert_eq!(end_of(&[r#"{"a":[1,{"b":"}"}]} ,"#]), Some(19));
        assert_eq!(end_of(&[r#""x\"y\\" ,"#]), Some(8));
        assert_eq!(end_of(&["12.5e3,"]), Some(6));
        assert_eq!(end_of(&["true]"]), Some(4));
        assert_eq!(end_of(&["[[]] x"]), Some(4));
    }

    #[test]
    fn finds_the_end_across_pieces_cut_anywhere() {
        let value = r#"{"k":"a\\\"b","l":[1,2,{"m":null}],"n":"}]"}"#;
        let text = format!("{value}  ,1");
        for cut in 1..text.len() {
            for cut2 in cut..text.len() {
                let pieces = [&text[..cut], &text[cut..cut2], &text[cut2..]];
                assert_eq!(end_of(&pieces), Some(value.len()), "cut at {cut}, {cut2}");
            }
        }
    }

    #[test]
    fn words_and_bytes_find_the_same_end() {
        let texts = [
            r#"{"metadata":{"name":"cm-1","labels":{"a":"b"}},"data":{"x":"[{\\\"}]\\\\","y":"}}}}}}}}]]]]]]]]"}} ,"#,
            r#"[[[[[[[[[[1]]]]]]]]]],[2]"#,
            r#"{"a":"\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\"}  "#,
            r#"{"k":["{","[","\\"","]","}"],"l":{}} x"#,
        ];
        for text in texts {
            let first = text.as_bytes()[0];
            let mut bytewise = Scan::new(first);
            bytewise.started = true;
            bytewise.depth = 1;
            let expected = bytewise.feed_bytes(&text.as_bytes()[1..]).map(|n| n + 1);
            assert!(expected.is_some(), "{text}");
            for cut in 0..text.len() {
                assert_eq!(
                    end_of(&[&text[..cut], &text[cut..]]),
                    expected,
                    "{text} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn lanes_equal_marks_exactly_the_matching_bytes() {
        for byte in 0..=255u8 {
            let word = u64::from_le_bytes([byte, 0, 0x80, 0xff, byte ^ 1, byte, 0x7f, 1]);
            let marked: Vec<bool> = (0..8)
                .map(|lane| lanes_equal(word, byte) >> (lane * 8 + 7) & 1 == 1)
                .collect();
            let expected: Vec<bool> = word.to_le_bytes().iter().map(|b| *b == byte).collect();
            assert_eq!(marked, expected, "{byte}");
        }
    }

    #[test]
    fn an_unfinished_value_has_no_end() {
        assert_eq!(end_of(&[r#"{"a":"}"#]), None);
        assert_eq!(end_of(&[r#"["\"#]), None);
        assert_eq!(end_of(&["123"]), None);
    }
}

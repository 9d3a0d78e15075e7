//! A response body held as the chunks it arrived in, read front to back: each chunk is dropped as
//! soon as everything in it has been decoded, so the body and the objects decoded from it are
//! never both whole in memory.

use bytes::Bytes;

/// Where the next JSON value lies.
#[derive(Clone, Copy)]
pub(super) enum Next {
    /// Wholly inside the front chunk, ending at this offset of it.
    Fits(usize),
    /// An object or array (its first byte) that goes on past the front chunk.
    Spans(u8),
    /// A string, number or literal cut by a chunk boundary; copied whole before decoding.
    Cut,
    /// The body ended.
    End,
}

/// The unread part of a body.
pub(super) struct Segments<'a> {
    /// The body's chunks; when there are several, those before `front` are read and already
    /// released (emptied). A single chunk is left as it is (it is the caller's, for its error).
    chunks: &'a mut [Bytes],
    /// The chunk being read.
    front: usize,
    /// How far into the front chunk has been read.
    pos: usize,
    /// The bytes of the chunks already dropped.
    dropped: u64,
    /// Where the last value that failed to decode started, for the error's message.
    pub(super) failed_at: Option<u64>,
}

impl<'a> Segments<'a> {
    pub(super) fn new(chunks: &'a mut [Bytes]) -> Segments<'a> {
        let mut segments = Segments {
            chunks,
            front: 0,
            pos: 0,
            dropped: 0,
            failed_at: None,
        };
        segments.settle();
        segments
    }

    fn several(&self) -> bool {
        self.chunks.len() > 1
    }

    /// The offset of the read position in the whole body.
    pub(super) fn offset(&self) -> u64 {
        self.dropped + self.pos as u64
    }

    /// Whether everything left is in the front chunk.
    pub(super) fn is_last_chunk(&self) -> bool {
        self.chunks.len() <= self.front + 1
    }

    /// The unread bytes of the front chunk.
    pub(super) fn front(&self) -> &[u8] {
        self.chunks
            .get(self.front)
            .map_or(&[], |chunk| &chunk[self.pos..])
    }

    /// Moves the read position `n` bytes on (at most to the end of the front chunk).
    pub(super) fn advance(&mut self, n: usize) {
        self.pos += n;
        self.settle();
    }

    /// Drops a front chunk that has been read to its end.
    fn settle(&mut self) {
        let several = self.several();
        while let Some(front) = self.chunks.get_mut(self.front) {
            if self.pos < front.len() {
                return;
            }
            self.dropped += front.len() as u64;
            self.pos -= front.len();
            if several {
                // Released now, not when the whole body is done.
                drop(std::mem::take(front));
            }
            self.front += 1;
        }
        self.pos = 0;
    }

    /// The next byte that is not JSON whitespace, without reading it (`None` at the end).
    pub(super) fn peek(&mut self) -> Option<u8> {
        loop {
            let front = self.front();
            let first = *front.first()?;
            if !is_whitespace(first) {
                return Some(first);
            }
            let blank = front.iter().take_while(|b| is_whitespace(**b)).count();
            self.advance(blank);
        }
    }

    /// Where the next value lies. `walked`: the openers (`{`, `[`) of the containers the caller
    /// walks member by member, which are never scanned here (walking one that fits in the chunk
    /// costs nothing more). `rest_is_value`: the value runs to the end of the body (the top
    /// level), so a last chunk need not be scanned either.
    pub(super) fn next(&mut self, walked: &[u8], rest_is_value: bool) -> Next {
        let Some(first) = self.peek() else {
            return Next::End;
        };
        if rest_is_value && self.is_last_chunk() {
            return Next::Fits(self.front().len());
        }
        if walked.contains(&first) {
            return Next::Spans(first);
        }
        let mut scan = Scan::new(first);
        match scan.feed(self.front()) {
            Some(end) => Next::Fits(end),
            None if matches!(first, b'{' | b'[') => Next::Spans(first),
            None => Next::Cut,
        }
    }

    /// Copies the next value, which may run across chunks, into one buffer and reads past it.
    /// A body that ends inside the value yields what there was (its decoder reports the end).
    pub(super) fn gather(&mut self) -> Vec<u8> {
        let Some(first) = self.peek() else {
            return Vec::new();
        };
        let mut scan = Scan::new(first);
        let mut value = Vec::new();
        while !self.front().is_empty() {
            let front = self.front();
            match scan.feed(front) {
                Some(end) => {
                    value.extend_from_slice(&front[..end]);
                    self.advance(end);
                    return value;
                }
                None => {
                    value.extend_from_slice(front);
                    let len = front.len();
                    self.advance(len);
                }
            }
        }
        value
    }
}

/// JSON's insignificant whitespace.
pub(super) fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// Finds where one JSON value ends, fed its bytes piece by piece. It checks no more than it
/// needs to find the end (strings, escapes and nesting); the decoder that reads the value
/// checks the rest. Nesting is a counter, never recursion.
struct Scan {
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
    fn new(first: u8) -> Scan {
        Scan {
            depth: 0,
            in_string: false,
            escaped: false,
            bare: !matches!(first, b'{' | b'[' | b'"'),
            started: false,
        }
    }

    /// Feeds the next bytes of the value; `Some(n)`: the value ends after the first `n` of them.
    fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
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

    #[test]
    fn drops_each_chunk_once_read() {
        let chunks = ["  [1,", "2", "]  "].map(|c| Bytes::from_static(c.as_bytes()));
        let mut chunks = chunks.to_vec();
        let mut body = Segments::new(&mut chunks);
        assert!(matches!(body.next(b"", false), Next::Spans(b'[')));
        assert_eq!(body.offset(), 2);
        assert_eq!(body.gather(), b"[1,2]");
        assert_eq!(body.offset(), 7);
        assert_eq!(body.peek(), None);
        assert!(chunks.iter().all(Bytes::is_empty));
    }

    #[test]
    fn a_single_chunk_is_left_to_its_owner() {
        let mut chunks = vec![Bytes::from_static(b"[1] ")];
        let mut body = Segments::new(&mut chunks);
        assert_eq!(body.gather(), b"[1]");
        assert_eq!(body.peek(), None);
        assert_eq!(&chunks[0][..], b"[1] ");
    }
}

//! A response body held as the chunks it arrived in, read front to back: each chunk is dropped as
//! soon as everything in it has been decoded, so the body and the objects decoded from it are
//! never both whole in memory. Where each value ends is [`Scan`]'s to find.

use bytes::Bytes;

use super::scan::{is_whitespace, Scan};

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
    /// Where reading is.
    pub(super) at: Place,
}

/// Where the reading of a body is: kept between calls by a reader that decodes a body a piece at
/// a time (see `ObjectReader`).
#[derive(Clone, Copy, Default)]
pub(super) struct Place {
    /// The chunk being read.
    front: usize,
    /// How far into the front chunk has been read.
    pos: usize,
    /// The bytes of the chunks already dropped.
    dropped: u64,
    /// Where the last value that failed to decode started, for the error's message.
    pub(super) failed_at: Option<u64>,
    /// The length of the last value an entry held, a guess at the next one's: a value is first
    /// tried straight from the front chunk only when the chunk has at least that much left.
    pub(super) last_entry: u64,
}

impl<'a> Segments<'a> {
    pub(super) fn new(chunks: &'a mut [Bytes]) -> Segments<'a> {
        Segments::resume(chunks, Place::default())
    }

    /// The body in `chunks` read from `at` on (a place an earlier `Segments` over the same chunks
    /// reached).
    pub(super) fn resume(chunks: &'a mut [Bytes], at: Place) -> Segments<'a> {
        let mut segments = Segments { chunks, at };
        segments.settle();
        segments
    }

    fn several(&self) -> bool {
        self.chunks.len() > 1
    }

    /// The offset of the read position in the whole body.
    pub(super) fn offset(&self) -> u64 {
        self.at.dropped + self.at.pos as u64
    }

    /// Whether everything left is in the front chunk.
    pub(super) fn is_last_chunk(&self) -> bool {
        self.chunks.len() <= self.at.front + 1
    }

    /// The unread bytes of the front chunk.
    pub(super) fn front(&self) -> &[u8] {
        self.chunks
            .get(self.at.front)
            .map_or(&[], |chunk| &chunk[self.at.pos..])
    }

    /// Moves the read position `n` bytes on (at most to the end of the front chunk).
    pub(super) fn advance(&mut self, n: usize) {
        self.at.pos += n;
        self.settle();
    }

    /// Drops a front chunk that has been read to its end.
    fn settle(&mut self) {
        let several = self.several();
        while let Some(front) = self.chunks.get_mut(self.at.front) {
            if self.at.pos < front.len() {
                return;
            }
            self.at.dropped += front.len() as u64;
            self.at.pos -= front.len();
            if several {
                // Released now, not when the whole body is done.
                drop(std::mem::take(front));
            }
            self.at.front += 1;
        }
        self.at.pos = 0;
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

#[cfg(test)]
mod tests {
    use super::*;

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

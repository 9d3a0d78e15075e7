//! One linear line splitter for every newline-delimited response: watch events and log lines.
//!
//! Bytes arrive in chunks of any size. The splitter appends each chunk to one `BytesMut` and
//! scans only the bytes it has not scanned before, so a line that arrives one byte at a time
//! costs the same as one that arrives whole; a complete line is cut off the front with
//! `split_to` (no shifting of the rest). What a caller may keep is bounded by `max` bytes of an
//! unfinished line plus the chunk being appended.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_util::Stream;

use crate::error::Error;

/// Turns a failure while reading a body into an [`Error`] (the client's transport classification).
pub(crate) type ClassifyTransport = Box<dyn Fn(reqwest::Error) -> Error + Send + Sync>;

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// The body's chunks as they arrive, read with `Response::chunk`; the stream ends after the
/// first error. (reqwest's `bytes_stream` would need its `stream` feature, which builds tokio's
/// `fs` module and tokio-util's codecs into every user's dependency graph.)
fn body_chunks(response: reqwest::Response) -> ByteStream {
    Box::pin(futures_util::stream::unfold(
        Some(response),
        |response| async move {
            let mut response = response?;
            match response.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(response))),
                Ok(None) => None,
                Err(err) => Some((Err(err), None)),
            }
        },
    ))
}

/// A streaming response body read as lines.
pub(crate) struct BodyLines {
    bytes: Option<ByteStream>,
    splitter: LineSplitter,
    classify: ClassifyTransport,
    /// When the last chunk arrived (or the body started): how long the stream was silent
    /// before a failure, for its message.
    last_data: std::time::Instant,
}

/// One step of [`BodyLines::poll_line`].
pub(crate) enum BodyLine {
    /// A complete line (the last one may lack its `\n`).
    Line(Bytes),
    /// The unfinished line passed the limit; call [`LineSplitter::cut`] or [`BodyLines::stop`].
    TooLong,
    /// Reading the body failed; the stream is over.
    Failed(Error),
}

impl BodyLines {
    pub(crate) fn new(
        response: reqwest::Response,
        max: usize,
        classify: ClassifyTransport,
    ) -> BodyLines {
        BodyLines::from_stream(body_chunks(response), max, classify)
    }

    pub(crate) fn from_stream(
        bytes: ByteStream,
        max: usize,
        classify: ClassifyTransport,
    ) -> BodyLines {
        BodyLines {
            bytes: Some(bytes),
            splitter: LineSplitter::new(max),
            classify,
            last_data: std::time::Instant::now(),
        }
    }

    /// Sets the longest line yielded whole (see [`LineSplitter::set_max`]).
    pub(crate) fn set_max_line(&mut self, max: usize) {
        self.splitter.set_max(max);
    }

    /// The head of a line that passed the limit (see [`LineSplitter::cut`]).
    pub(crate) fn cut_line(&mut self) -> Bytes {
        self.splitter.cut()
    }

    /// How many bytes of an unfinished line are buffered.
    pub(crate) fn pending_bytes(&self) -> &[u8] {
        self.splitter.pending_bytes()
    }

    /// Closes the connection and forgets buffered bytes; the next poll returns `None`.
    pub(crate) fn stop(&mut self) {
        self.bytes = None;
        self.splitter.clear();
    }

    /// The next line, reading chunks as needed; `None` once the body has ended (or was stopped).
    pub(crate) fn poll_line(&mut self, cx: &mut Context<'_>) -> Poll<Option<BodyLine>> {
        loop {
            let Some(bytes) = self.bytes.as_mut() else {
                return Poll::Ready(self.splitter.finish().map(BodyLine::Line));
            };
            match self.splitter.next_line() {
                Next::Line(line) => return Poll::Ready(Some(BodyLine::Line(line))),
                Next::TooLong => return Poll::Ready(Some(BodyLine::TooLong)),
                Next::NeedMore => {}
            }
            match bytes.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    self.last_data = std::time::Instant::now();
                    self.splitter.push(&chunk);
                }
                Poll::Ready(Some(Err(err))) => {
                    self.stop();
                    let error = crate::error::transport::after_silence(
                        (self.classify)(err),
                        self.last_data.elapsed(),
                    );
                    return Poll::Ready(Some(BodyLine::Failed(error)));
                }
                Poll::Ready(None) => self.bytes = None,
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Splits a byte stream into `\n`-terminated lines, scanning each byte once.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    buffer: BytesMut,
    /// Bytes at the front of `buffer` known to hold no `\n`.
    scanned: usize,
    /// Longest unfinished line the splitter keeps.
    max: usize,
    /// After [`LineSplitter::cut`]: drop bytes until the next `\n`.
    discarding: bool,
    /// Where the over-long line reported by [`Next::TooLong`] ends, when its `\n` is buffered.
    long_line_end: Option<usize>,
    /// Every byte examined for a newline, for the linearity tests.
    work: u64,
}

/// What [`LineSplitter::next_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// A complete line, without its `\n`.
    Line(Bytes),
    /// No complete line yet; feed more bytes.
    NeedMore,
    /// The line (finished or not) is longer than the limit.
    TooLong,
}

impl LineSplitter {
    /// A splitter that reports [`Next::TooLong`] once an unfinished line exceeds `max` bytes.
    pub(crate) fn new(max: usize) -> LineSplitter {
        LineSplitter {
            buffer: BytesMut::new(),
            scanned: 0,
            max,
            discarding: false,
            long_line_end: None,
            work: 0,
        }
    }

    /// Changes the limit (before any bytes arrive).
    pub(crate) fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// Appends a chunk (after [`LineSplitter::cut`], its bytes up to the next `\n` are dropped).
    pub(crate) fn push(&mut self, mut chunk: &[u8]) {
        if self.discarding {
            self.work += chunk.len() as u64;
            match memchr::memchr(b'\n', chunk) {
                Some(end) => {
                    self.discarding = false;
                    chunk = &chunk[end + 1..];
                }
                None => return,
            }
        }
        self.buffer.extend_from_slice(chunk);
    }

    /// The next complete line, scanning only bytes not scanned before.
    pub(crate) fn next_line(&mut self) -> Next {
        let unscanned = &self.buffer[self.scanned..];
        match memchr::memchr(b'\n', unscanned) {
            Some(at) => {
                self.work += at as u64 + 1;
                let end = self.scanned + at;
                if end > self.max {
                    self.scanned = end;
                    self.long_line_end = Some(end);
                    return Next::TooLong;
                }
                let mut line = self.buffer.split_to(end + 1);
                line.truncate(end);
                self.scanned = 0;
                Next::Line(line.freeze())
            }
            None => {
                self.work += unscanned.len() as u64;
                self.scanned = self.buffer.len();
                if self.buffer.len() > self.max {
                    Next::TooLong
                } else {
                    Next::NeedMore
                }
            }
        }
    }

    /// Takes the first `max` bytes of an over-long line and drops the rest of that line,
    /// including bytes that have not arrived yet.
    pub(crate) fn cut(&mut self) -> Bytes {
        let keep = self.max.min(self.buffer.len());
        let head = self.buffer.split_to(keep).freeze();
        self.scanned = 0;
        match self.long_line_end.take() {
            // The line's newline is buffered: drop up to it, keep what follows.
            Some(end) => drop(self.buffer.split_to(end + 1 - keep)),
            // It is not: drop everything, and whatever arrives up to the next newline.
            None => {
                self.buffer.clear();
                self.discarding = true;
            }
        }
        head
    }

    /// The bytes after the last newline, once the input has ended.
    pub(crate) fn finish(&mut self) -> Option<Bytes> {
        self.scanned = 0;
        if self.discarding || self.buffer.is_empty() {
            self.discarding = false;
            self.buffer.clear();
            return None;
        }
        Some(std::mem::take(&mut self.buffer).freeze())
    }

    /// The length of the unfinished line held.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.buffer.len()
    }

    /// The unfinished line held (for an excerpt in an error).
    pub(crate) fn pending_bytes(&self) -> &[u8] {
        &self.buffer
    }

    /// Total bytes examined so far.
    #[cfg(test)]
    pub(crate) fn work(&self) -> u64 {
        self.work
    }

    /// Releases the buffer (after an error ends the stream).
    pub(crate) fn clear(&mut self) {
        self.buffer = BytesMut::new();
        self.scanned = 0;
        self.discarding = false;
        self.long_line_end = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_lines(splitter: &mut LineSplitter) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        while let Next::Line(line) = splitter.next_line() {
            lines.push(line.to_vec());
        }
        lines
    }

    #[test]
    fn splits_across_chunks() {
        let mut s = LineSplitter::new(100);
        s.push(b"ab");
        assert_eq!(s.next_line(), Next::NeedMore);
        s.push(b"c\nde\n\nf");
        assert_eq!(
            all_lines(&mut s),
            vec![b"abc".to_vec(), b"de".to_vec(), vec![]]
        );
        assert_eq!(s.finish().as_deref(), Some(&b"f"[..]));
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn sixteen_mib_of_newlines_is_scanned_once() {
        let size = 16 * 1024 * 1024;
        let mut s = LineSplitter::new(size);
        let newlines = vec![b'\n'; size];
        let mut count = 0usize;
        for chunk in newlines.chunks(64 * 1024) {
            s.push(chunk);
            while let Next::Line(line) = s.next_line() {
                assert!(line.is_empty());
                count += 1;
            }
        }
        assert_eq!(count, size);
        assert_eq!(s.work(), size as u64, "each byte examined exactly once");
    }

    #[test]
    fn a_newline_free_line_in_small_chunks_is_scanned_once_and_capped() {
        let max = 16 * 1024 * 1024;
        let mut s = LineSplitter::new(max);
        let chunk = vec![b'x'; 1024];
        let mut pushed = 0u64;
        loop {
            s.push(&chunk);
            pushed += chunk.len() as u64;
            match s.next_line() {
                Next::NeedMore => continue,
                Next::TooLong => break,
                Next::Line(_) => panic!("no newline was sent"),
            }
        }
        assert_eq!(pushed, max as u64 + 1024);
        assert_eq!(s.work(), pushed, "each byte examined exactly once");
    }

    #[test]
    fn cut_keeps_the_head_and_drops_the_rest_of_the_line() {
        let mut s = LineSplitter::new(4);
        s.push(b"abcdefg");
        assert_eq!(s.next_line(), Next::TooLong);
        assert_eq!(&s.cut()[..], b"abcd");
        s.push(b"hij");
        assert_eq!(s.next_line(), Next::NeedMore);
        assert_eq!(s.pending(), 0, "the rest of the long line is not kept");
        s.push(b"kl\nok\n");
        assert_eq!(all_lines(&mut s), vec![b"ok".to_vec()]);
        s.push(b"longer");
        assert_eq!(s.next_line(), Next::TooLong);
        s.cut();
        assert_eq!(s.finish(), None, "a cut line is not repeated at the end");
    }

    #[test]
    fn a_complete_line_over_the_limit_is_too_long_too() {
        let mut s = LineSplitter::new(4);
        s.push(b"ok\nabcdefgh\nnext\n");
        assert_eq!(s.next_line(), Next::Line(Bytes::from_static(b"ok")));
        assert_eq!(s.next_line(), Next::TooLong);
        assert_eq!(&s.cut()[..], b"abcd");
        assert_eq!(all_lines(&mut s), vec![b"next".to_vec()]);
        let mut s = LineSplitter::new(4);
        s.push(b"abcd\n");
        assert_eq!(
            s.next_line(),
            Next::Line(Bytes::from_static(b"abcd")),
            "exactly the limit is fine"
        );
    }
}

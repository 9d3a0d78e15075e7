//! Line streams: a long-lived text response (`pods/{name}/log?follow=true`) read line by line.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;

use crate::error::Result;
use crate::stream::splitter::{BodyLine, BodyLines};

/// The default longest line a [`LineStream`] yields whole: 64 KiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 * 1024;

/// What a [`LineStream`] appends to a line it had to cut.
pub const CUT_MARKER: &str = " [incluster: line cut]";

/// The lines of a streaming text response, such as a Pod's log with `follow=true`.
///
/// Each item is one line without its `\n` (and without a `\r` before it); a last line without a
/// newline is yielded when the response ends. Bytes that are not UTF-8 become `U+FFFD`.
///
/// Memory is bounded: a line longer than [`LineStream::max_line_bytes`] (64 KiB by default) is
/// **cut**: its first bytes (at a character boundary) are yielded at once followed by
/// [`CUT_MARKER`], and the rest of that line is skipped as it arrives; the next line comes
/// whole again. A reader that follows logs keeps going instead of failing on one huge line.
///
/// The stream ends when the server ends the response (a Pod's log with `follow=true` ends when
/// the container stops). A failure while reading is yielded as `Err` and ends the stream.
///
/// A trait method returning `incluster::Result<incluster::LineStream>` (e.g. on
/// `pods/{name}/log` with `#[query] follow: bool`) gets one; by hand:
///
/// ```no_run
/// use futures::StreamExt;
/// # async fn run(client: incluster::Client) -> incluster::Result<()> {
/// let log = incluster::Request::builder(incluster::Method::GET, "/api/v1/namespaces/{namespace}/pods/{name}/log")
///     .path_param("namespace", "default")
///     .path_param("name", "web-0")
///     .query("follow", &true)
///     .build()?;
/// let mut lines = client.lines(log).await?;
/// while let Some(line) = lines.next().await {
///     println!("{}", line?);
/// }
/// # Ok(()) }
/// ```
pub struct LineStream {
    body: BodyLines,
    max: usize,
}

impl std::fmt::Debug for LineStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineStream")
            .field("max_line_bytes", &self.max)
            .finish()
    }
}

impl LineStream {
    pub(crate) fn new(body: BodyLines) -> LineStream {
        LineStream {
            body,
            max: DEFAULT_MAX_LINE_BYTES,
        }
    }

    /// Sets the longest line yielded whole (at least 1 byte); longer lines are cut.
    ///
    /// ```no_run
    /// # async fn run(client: incluster::Client, request: incluster::Request) -> incluster::Result<()> {
    /// let lines = client.lines(request).await?.max_line_bytes(1024 * 1024);
    /// # Ok(()) }
    /// ```
    pub fn max_line_bytes(mut self, max: usize) -> LineStream {
        self.max = max.max(1);
        self.body.set_max_line(self.max);
        self
    }
}

impl Stream for LineStream {
    type Item = Result<String>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = match std::task::ready!(self.body.poll_line(cx)) {
            None => return Poll::Ready(None),
            Some(BodyLine::Line(line)) => Ok(text(&line, "")),
            Some(BodyLine::TooLong) => {
                let head = self.body.cut_line();
                Ok(text(&char_boundary(&head), CUT_MARKER))
            }
            Some(BodyLine::Failed(err)) => Err(err),
        };
        Poll::Ready(Some(item))
    }
}

fn text(line: &Bytes, suffix: &str) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut text = String::from_utf8_lossy(line).into_owned();
    text.push_str(suffix);
    text
}

/// `bytes` without a UTF-8 sequence cut short at its end.
fn char_boundary(bytes: &Bytes) -> Bytes {
    let len = bytes.len();
    for back in 1..=3.min(len) {
        let byte = bytes[len - back];
        if byte & 0b1100_0000 == 0b1000_0000 {
            continue; // a continuation byte: look further back for the lead byte
        }
        let width = match byte {
            0x00..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            _ => 4,
        };
        return if width > back {
            bytes.slice(..len - back)
        } else {
            bytes.clone()
        };
    }
    bytes.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn stream(chunks: Vec<&'static [u8]>) -> LineStream {
        let bytes = futures::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c))));
        LineStream::new(BodyLines::from_stream(
            Box::pin(bytes),
            DEFAULT_MAX_LINE_BYTES,
            Box::new(|_| unreachable!()),
        ))
    }

    async fn collect(lines: LineStream) -> Vec<String> {
        lines.map(|l| l.unwrap()).collect().await
    }

    #[tokio::test]
    async fn lines_across_chunks_crlf_and_a_last_line_without_newline() {
        let lines = stream(vec![b"one\r\ntw", b"o\n\nthr", b"ee"]);
        assert_eq!(collect(lines).await, ["one", "two", "", "three"]);
    }

    #[tokio::test]
    async fn long_lines_are_cut_with_a_marker_and_the_next_line_is_whole() {
        // "é" is two bytes; the cut at 5 bytes would split the third one.
        let lines = stream(vec![
            b"\xc3\xa9\xc3\xa9\xc3",
            b"\xa9 and more",
            b" still\nnext\n",
        ])
        .max_line_bytes(5);
        assert_eq!(
            collect(lines).await,
            [format!("éé{CUT_MARKER}"), "next".to_string()]
        );
    }

    #[tokio::test]
    async fn invalid_utf8_becomes_replacement_characters() {
        let lines = stream(vec![b"a\xffb\n"]);
        assert_eq!(collect(lines).await, ["a\u{fffd}b"]);
    }

    #[test]
    fn char_boundary_keeps_whole_characters() {
        let b = |s: &'static [u8]| Bytes::from_static(s);
        assert_eq!(&char_boundary(&b(b"ab"))[..], b"ab");
        assert_eq!(&char_boundary(&b(b"a\xc3"))[..], b"a");
        assert_eq!(&char_boundary(&b(b"a\xc3\xa9"))[..], b"a\xc3\xa9");
        assert_eq!(&char_boundary(&b(b"a\xe2\x82"))[..], b"a");
        assert_eq!(
            &char_boundary(&b(b"a\xf0\x9f\x98\x80"))[..],
            b"a\xf0\x9f\x98\x80"
        );
        assert_eq!(&char_boundary(&b(b"a\xf0\x9f\x98"))[..], b"a");
    }
}

//! Long-lived responses read a piece at a time: the line splitter they share, watch events,
//! paginated lists and text line streams (log follows).

pub(crate) mod lines;
pub(crate) mod list;
pub(crate) mod list_page;
pub(crate) mod meta_tap;
#[cfg(test)]
pub(crate) mod server_bytes;
pub(crate) mod splitter;
pub(crate) mod watch;

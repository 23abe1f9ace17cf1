//! The access line, one per request at `hearth::access` INFO, in the shape the
//! rest of the log has (`tracing`'s text or JSON lines). It is written here rather
//! than through `tracing`'s formatter, which cost 11.9 k instructions a request
//! (+18 % on a song read, callgrind): field visitors, `Debug` quoting and styling
//! that is thrown away. Here it is one buffer, a timestamp whose seconds are
//! formatted once a second, and an append to its thread's batch. A thread hands the
//! batches to the log's writer every [`FLUSH_EVERY`]: a send to the writer per line
//! (an allocation, a channel, a wake-up of its thread) kept the one-row read 3-10 %
//! slower than without the line. One batch for all threads was a lock and a buffer
//! that both cores wrote to for every request (see [`Sink`]).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{Method, Uri};
use tracing_appender::non_blocking::NonBlocking;

const TARGET: &str = "hearth::access";
/// How long a line may wait in the batch: a log follower sees it this late at most.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Lines beyond this wait no more (a writer that cannot keep up): they are dropped,
/// as the log's own writer drops what it cannot take.
const MOST_WAITING: usize = 8 << 20;

/// The most handed to the writer at once. It copies each write into an allocation
/// of its own, and one of a batch's size (hundreds of KiB under load) was fresh
/// pages from the kernel, zeroed, every time: 2 % of a song read's CPU (perf).
const PIECE: usize = 32 << 10;

static SINK: OnceLock<Sink> = OnceLock::new();

/// Each thread's lines wait in a batch of its own, whose lock only the flushing
/// thread ever contends for: with one batch for all, the lock and the buffer's
/// memory moved between the cores with every request (song reads at 64
/// connections: the line cost 7.7 % of the throughput, then 5.5 %). Lines of
/// one thread keep their order; lines of two threads within [`FLUSH_EVERY`] may
/// not (each has its time).
struct Sink {
    json: bool,
    batches: Mutex<Vec<Batch>>,
    writer: Mutex<NonBlocking>,
}

type Batch = Arc<Mutex<Vec<u8>>>;

impl Sink {
    /// A new thread's batch.
    fn batch(&self) -> Batch {
        let batch = Batch::default();
        let mut batches = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
        batches.push(batch.clone());
        batch
    }

    /// Hands what waits to the writer; forgets the batches of threads that ended.
    fn flush(&self, spare: &mut Vec<u8>) {
        let mut batches = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
        batches.retain(|batch| {
            // looked at before the lines are taken: a thread that has ended adds none
            // (the fence pairs with the release of its `Arc`, after its last line)
            let ended = Arc::strong_count(batch) == 1;
            if ended {
                std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
            }
            {
                let mut lines = batch.lock().unwrap_or_else(PoisonError::into_inner);
                std::mem::swap(&mut *lines, spare);
            }
            if !spare.is_empty() {
                let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
                for piece in pieces(spare, PIECE) {
                    let _ = writer.write_all(piece);
                }
                spare.clear();
            }
            !ended
        });
    }
}

thread_local! {
    /// This thread's line and its formatted second.
    static LOCAL: RefCell<Local> = RefCell::new(Local::default());
}

#[derive(Default)]
struct Local {
    line: String,
    second: u64,
    stamp: String,
    batch: Option<Batch>,
}

/// Writes access lines to `writer`, the log's, as JSON lines when `json`. Without
/// it they go through `tracing` (a subscriber of a program that embeds Hearth).
pub fn install(writer: NonBlocking, json: bool) {
    let sink = Sink {
        json,
        batches: Mutex::default(),
        writer: Mutex::new(writer),
    };
    if SINK.set(sink).is_err() {
        return;
    }
    let flusher = std::thread::Builder::new()
        .name("hearth-access-log".to_owned())
        .spawn(|| {
            let mut spare = Vec::new();
            loop {
                std::thread::sleep(FLUSH_EVERY);
                if let Some(sink) = SINK.get() {
                    sink.flush(&mut spare);
                }
            }
        });
    if let Err(err) = flusher {
        tracing::error!(error = %err, "cannot start the access log's thread");
    }
}

/// Hands the lines that wait to the log's writer, before the process ends.
pub fn flush() {
    if let Some(sink) = SINK.get() {
        sink.flush(&mut Vec::new());
    }
}

/// A request being answered, logged when its answer is ready.
pub struct Pending {
    started: Instant,
    method: Method,
    uri: Uri,
}

impl Pending {
    /// `None` when the filter (`RUST_LOG`) leaves access lines out.
    pub fn start(method: &Method, uri: &Uri) -> Option<Self> {
        tracing::enabled!(target: TARGET, tracing::Level::INFO).then(|| Self {
            started: Instant::now(),
            method: method.clone(),
            uri: uri.clone(),
        })
    }

    pub fn finish(self, id: &str, status: u16) {
        let micros = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let (method, path) = (self.method.as_str(), self.uri.path());
        let Some(sink) = SINK.get() else {
            tracing::info!(target: TARGET, id, method, path, status, micros, "served");
            return;
        };
        LOCAL.with_borrow_mut(|local| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            if local.stamp.is_empty() || local.second != now.as_secs() {
                local.second = now.as_secs();
                local.stamp = i64::try_from(now.as_secs())
                    .ok()
                    .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                    .unwrap_or_default()
                    .format("%Y-%m-%dT%H:%M:%S")
                    .to_string();
            }
            let Local {
                line, stamp, batch, ..
            } = local;
            line.clear();
            // pushed piece by piece: `write!` with its arguments cost a third of the line
            let mut number = itoa::Buffer::new();
            if sink.json {
                line.push_str(r#"{"timestamp":""#);
                push_stamp(line, stamp, now.subsec_micros());
                line.push_str(r#"","level":"INFO","fields":{"message":"served","id":"#);
                push_quoted(line, id, true);
                for part in [r#","method":""#, method, r#"","path":"#] {
                    line.push_str(part);
                }
                push_quoted(line, path, true);
                line.push_str(r#","status":"#);
                line.push_str(number.format(status));
                line.push_str(r#","micros":"#);
                line.push_str(number.format(micros));
                line.push_str(r#"},"target":"hearth::access"}"#);
            } else {
                push_stamp(line, stamp, now.subsec_micros());
                line.push_str("  INFO hearth::access: served id=");
                push_quoted(line, id, false);
                line.push_str(" method=");
                line.push_str(method);
                line.push_str(" path=");
                push_quoted(line, path, false);
                line.push_str(" status=");
                line.push_str(number.format(status));
                line.push_str(" micros=");
                line.push_str(number.format(micros));
            }
            line.push('\n');
            let batch = batch.get_or_insert_with(|| sink.batch());
            let mut lines = batch.lock().unwrap_or_else(PoisonError::into_inner);
            if lines.len() < MOST_WAITING {
                lines.extend_from_slice(line.as_bytes());
            }
        });
    }
}

/// `lines` in pieces of at most `size` bytes that each end at a line's end (a
/// line longer than `size` is a piece of its own), so that no other log line
/// comes between the two halves of one.
fn pieces(mut lines: &[u8], size: usize) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        if lines.is_empty() {
            return None;
        }
        let end = if lines.len() <= size {
            lines.len()
        } else if let Some(last) = lines[..size].iter().rposition(|&b| b == b'\n') {
            last + 1
        } else {
            lines[size..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(lines.len(), |next| size + next + 1)
        };
        let (piece, rest) = lines.split_at(end);
        lines = rest;
        Some(piece)
    })
}

/// RFC 3339 to the microsecond, as `tracing` writes it.
fn push_stamp(line: &mut String, second: &str, micros: u32) {
    line.push_str(second);
    line.push('.');
    let mut number = itoa::Buffer::new();
    let digits = number.format(micros);
    for _ in digits.len()..6 {
        line.push('0');
    }
    line.push_str(digits);
    line.push('Z');
}

/// `value` in double quotes, escaped as `tracing` escapes it (`Debug`) or as JSON.
/// An id or a path almost never needs escaping: checked first, copied as is.
fn push_quoted(line: &mut String, value: &str, json: bool) {
    let plain = value
        .bytes()
        .all(|b| (b.is_ascii_graphic() && b != b'"' && b != b'\\') || b == b' ');
    if plain {
        line.push('"');
        line.push_str(value);
        line.push('"');
    } else if json {
        // a string always serializes
        line.push_str(&serde_json::to_string(value).unwrap_or_default());
    } else {
        // writing to a String does not fail
        let _ = write!(line, "{value:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::{pieces, push_quoted};

    #[test]
    fn pieces_end_at_line_ends() {
        let lines = b"one\ntwo two\nthree three three\nfour\n";
        for size in 1..=lines.len() + 1 {
            let cut: Vec<&[u8]> = pieces(lines, size).collect();
            assert_eq!(cut.concat(), lines, "size {size}");
            for piece in &cut {
                assert!(piece.ends_with(b"\n"), "size {size}: {piece:?}");
                let one_line = piece.iter().filter(|&&b| b == b'\n').count() == 1;
                assert!(piece.len() <= size || one_line, "size {size}: {piece:?}");
            }
        }
        assert_eq!(pieces(b"a\nb\n", 64).count(), 1);
        assert_eq!(pieces(b"", 64).count(), 0);
    }

    #[test]
    fn quotes_as_tracing_and_json_do() {
        for value in ["/music/song", "a\"b", "back\\slash", "new\nline", "é", ""] {
            let (mut text, mut json) = (String::new(), String::new());
            push_quoted(&mut text, value, false);
            push_quoted(&mut json, value, true);
            assert_eq!(text, format!("{value:?}"));
            assert_eq!(json, serde_json::to_string(value).unwrap());
        }
    }
}

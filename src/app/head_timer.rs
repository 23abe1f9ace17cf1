//! hyper's header-read timeout without a timer per request.
//!
//! hyper arms its timer's `Sleep` each time a connection waits for a request's head
//! and drops it once the head is read: with tokio's timer, a boxed entry put into
//! the runtime's wheel and taken out again for every request, 1.6 k of a one-row
//! read's 37.7 k instructions (callgrind). Here the `Sleep` only writes its deadline
//! into its connection's cell, and one thread per server, [`Heads::watch`], marks
//! the connections whose deadline has passed and wakes them; hyper, polled with
//! that wake, finds its `Sleep` done. No clock is read per request: that thread
//! also keeps the time hyper reads, at a tenth of the timeout. A timeout so fires
//! within a tenth of itself, early or late.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;
use hyper::rt::{Sleep, Timer};

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// A connection's deadline for the head it waits for, in nanoseconds after
/// [`epoch`] (0: none, a request is being answered), the deadline found passed,
/// and its task's waker.
#[derive(Default)]
struct HeadCell {
    deadline: AtomicU64,
    passed: AtomicU64,
    waker: AtomicWaker,
}

fn nanos(at: Instant) -> u64 {
    let nanos = at.saturating_duration_since(epoch()).as_nanos();
    u64::try_from(nanos).unwrap_or(u64::MAX).max(1)
}

/// The connections of one server, for its watching thread, and the time it keeps.
pub(super) struct Heads {
    cells: Mutex<Vec<Weak<HeadCell>>>,
    now: Arc<AtomicU64>,
}

impl Default for Heads {
    fn default() -> Self {
        Self {
            cells: Mutex::default(),
            now: Arc::new(AtomicU64::new(nanos(Instant::now()))),
        }
    }
}

impl Heads {
    /// A timer for one new connection.
    pub(super) fn timer(&self) -> HeadTimer {
        let cell = Arc::new(HeadCell::default());
        let mut cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        cells.push(Arc::downgrade(&cell));
        HeadTimer {
            cell,
            now: self.now.clone(),
        }
    }

    /// Wakes every connection whose deadline has passed, every tenth of `timeout`,
    /// until `heads` is dropped.
    pub(super) fn watch(heads: &Arc<Heads>, timeout: Duration) {
        let heads = Arc::downgrade(heads);
        let every = (timeout / 10).max(Duration::from_millis(10));
        let watching = std::thread::Builder::new()
            .name("hearth-head-timer".to_owned())
            .spawn(move || loop {
                std::thread::sleep(every);
                let Some(heads) = heads.upgrade() else {
                    return;
                };
                let now = nanos(Instant::now());
                heads.now.store(now, Ordering::Relaxed);
                let mut cells = heads.cells.lock().unwrap_or_else(PoisonError::into_inner);
                cells.retain(|cell| match cell.upgrade() {
                    Some(cell) => {
                        let deadline = cell.deadline.load(Ordering::Relaxed);
                        if deadline != 0 && deadline <= now {
                            cell.passed.store(deadline, Ordering::Release);
                            cell.waker.wake();
                        }
                        true
                    }
                    None => false,
                });
            });
        if let Err(err) = watching {
            tracing::error!(error = %err, "cannot start the header timeout's thread");
        }
    }
}

/// The timer of one connection.
pub(super) struct HeadTimer {
    cell: Arc<HeadCell>,
    now: Arc<AtomicU64>,
}

impl Timer for HeadTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        self.sleep_until(self.now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        let deadline = nanos(deadline);
        self.cell.deadline.store(deadline, Ordering::Relaxed);
        Box::pin(HeadSleep {
            cell: self.cell.clone(),
            deadline,
        })
    }

    fn now(&self) -> Instant {
        epoch() + Duration::from_nanos(self.now.load(Ordering::Relaxed))
    }
}

struct HeadSleep {
    cell: Arc<HeadCell>,
    deadline: u64,
}

impl Future for HeadSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.cell.waker.register(cx.waker());
        if self.cell.passed.load(Ordering::Acquire) == self.deadline {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Sleep for HeadSleep {}

impl Drop for HeadSleep {
    fn drop(&mut self) {
        // unless a later `Sleep` replaced it
        let _ = self.cell.deadline.compare_exchange(
            self.deadline,
            0,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }
}

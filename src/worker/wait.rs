//! Sleeping on the latch *and* on a socket the HTTP threads write to.
//!
//! HTTP threads may not call `SetLatch` (no Postgres from threads), so each result is
//! followed by one byte on a socket pair; the main thread waits on its latch (set by a
//! committing backend, a signal, or the postmaster) and that socket together.

use pgrx::bgworkers::BackgroundWorker;
use pgrx::pg_sys;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// The main thread's side of the wake-up socket.
pub struct Waiter {
    socket: UnixStream,
    ring: UnixStream,
}

/// A cloneable handle HTTP threads use to wake the main thread.
pub struct Ringer(UnixStream);

impl Ringer {
    /// Wakes the main thread; never blocks (a full socket already means "wake up").
    pub fn ring(&self) {
        use std::io::Write;
        let _ = (&self.0).write(&[1]);
    }
}

impl Waiter {
    /// A fresh socket pair; both ends non-blocking.
    pub fn new() -> std::io::Result<Waiter> {
        let (socket, ring) = UnixStream::pair()?;
        socket.set_nonblocking(true)?;
        ring.set_nonblocking(true)?;
        Ok(Waiter { socket, ring })
    }

    /// A handle for one more thread.
    pub fn ringer(&self) -> std::io::Result<Ringer> {
        self.ring.try_clone().map(Ringer)
    }

    /// Sleeps until the latch is set, a thread rings, or `timeout` passes. Returns false
    /// when the worker must stop (SIGTERM); exits the process if the postmaster died.
    pub fn wait(&self, timeout: Duration) -> bool {
        let events = pg_sys::WL_LATCH_SET
            | pg_sys::WL_SOCKET_READABLE
            | pg_sys::WL_TIMEOUT
            | pg_sys::WL_EXIT_ON_PM_DEATH;
        unsafe {
            pg_sys::WaitLatchOrSocket(
                pg_sys::MyLatch,
                events as i32,
                self.socket.as_raw_fd(),
                timeout.as_millis().min(i32::MAX as u128) as _,
                pg_sys::PG_WAIT_EXTENSION,
            );
            pg_sys::ResetLatch(pg_sys::MyLatch);
            pg_sys::check_for_interrupts!();
        }
        // After the reset, before this round reads the outbox: a commit from now on wakes
        // the worker again.
        crate::shared::woken();
        self.drain();
        !BackgroundWorker::sigterm_received()
    }

    fn drain(&self) {
        let mut buf = [0u8; 256];
        while matches!((&self.socket).read(&mut buf), Ok(n) if n > 0) {}
    }
}

//! Threads inside a Postgres process: they must never receive Postgres' signals (the
//! handlers belong to the main thread), so they are created with every signal blocked.

/// Runs `spawn` with all signals blocked in this thread, so threads it creates inherit a
/// fully blocked mask; restores the mask afterwards.
pub fn with_signals_blocked<T>(spawn: impl FnOnce() -> std::io::Result<T>) -> std::io::Result<T> {
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut previous);
        let result = spawn();
        libc::pthread_sigmask(libc::SIG_SETMASK, &previous, std::ptr::null_mut());
        result
    }
}

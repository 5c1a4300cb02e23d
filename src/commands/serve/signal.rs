//! Ctrl-C (and `kill`) stop the preview cleanly: its build directories are removed and the
//! exit code is 0.
//!
//! A signal handler may do almost nothing safely, so none is installed. Instead SIGINT, SIGTERM
//! and SIGHUP are blocked in the main thread *before any other thread starts* (threads inherit
//! the mask), and one thread waits for them with `sigwait`, where ordinary code may run.

/// Runs `cleanup` and exits with code 0 on SIGINT, SIGTERM or SIGHUP. Must be called before any
/// thread is started. Without it (or where it fails) the signals keep their default action,
/// which is fine too: the build directories are disposable and the next start removes them.
#[cfg(unix)]
pub(super) fn on_stop(cleanup: impl FnOnce() + Send + 'static) {
    // SAFETY: plain libc calls on a zeroed, then initialised, signal set owned by this frame
    // and copied into the waiting thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, signal);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return;
        }
        let waiter = std::thread::Builder::new()
            .name("clinic-signals".to_string())
            .spawn(move || {
                let mut signal = 0;
                libc::sigwait(&set, &mut signal);
                cleanup();
                std::process::exit(0);
            });
        if waiter.is_err() {
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
    }
}

#[cfg(not(unix))]
pub fn on_stop(_cleanup: impl FnOnce() + Send + 'static) {}

/// Whether process `pid` still runs (so its build directories are in use).
#[cfg(unix)]
pub(super) fn is_running(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
pub fn is_running(_pid: u32) -> bool {
    true
}

//! Talking to systemd: readiness and the watchdog (`Type=notify`, `WatchdogSec=`).
//!
//! Implemented over the `NOTIFY_SOCKET` datagram protocol directly, so the daemon has no
//! dependency on libsystemd. Outside systemd every call is a no-op.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

/// Sends state changes and watchdog pings to systemd, if the daemon runs under it.
#[derive(Debug)]
pub struct ServiceNotifier {
    socket: Option<(UnixDatagram, String)>,
    watchdog_every: Option<Duration>,
    last_ping: Option<Instant>,
}

impl ServiceNotifier {
    /// Reads `NOTIFY_SOCKET` and `WATCHDOG_USEC` from the environment.
    pub fn from_env() -> Self {
        let socket = std::env::var("NOTIFY_SOCKET").ok().and_then(|path| {
            let sock = UnixDatagram::unbound().ok()?;
            Some((sock, path))
        });
        let watchdog_every = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&us| us > 0)
            // Ping at half the timeout, as sd_watchdog_enabled(3) advises.
            .map(|us| Duration::from_micros(us / 2));
        ServiceNotifier {
            socket,
            watchdog_every,
            last_ping: None,
        }
    }

    /// True when running under systemd with a notify socket.
    pub fn active(&self) -> bool {
        self.socket.is_some()
    }

    /// Sends one notification such as `READY=1` or `STATUS=...`.
    pub fn notify(&self, state: &str) {
        let Some((sock, path)) = &self.socket else {
            return;
        };
        let result = if let Some(abstract_name) = path.strip_prefix('@') {
            send_abstract(sock, abstract_name, state)
        } else {
            sock.send_to(state.as_bytes(), path).map(|_| ())
        };
        if let Err(e) = result {
            log::warn!("systemd notification `{state}` not sent: {e}");
        }
    }

    /// Tells systemd the daemon is up.
    pub fn ready(&self, status: &str) {
        self.notify(&format!("READY=1\nSTATUS={status}"));
    }

    /// Called from every turn of the main loop: pings the watchdog when it is due, so a
    /// hung loop stops pinging and systemd restarts the daemon.
    pub fn tick(&mut self) {
        let Some(every) = self.watchdog_every else {
            return;
        };
        let now = Instant::now();
        if self
            .last_ping
            .is_none_or(|last| now.duration_since(last) >= every)
        {
            self.notify("WATCHDOG=1");
            self.last_ping = Some(now);
        }
    }
}

#[cfg(target_os = "linux")]
fn send_abstract(sock: &UnixDatagram, name: &str, state: &str) -> std::io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    sock.send_to_addr(state.as_bytes(), &addr).map(|_| ())
}

#[cfg(not(target_os = "linux"))]
fn send_abstract(_sock: &UnixDatagram, _name: &str, _state: &str) -> std::io::Result<()> {
    Err(std::io::Error::other("abstract sockets need Linux"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_reach_the_socket_and_the_watchdog_is_paced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let server = UnixDatagram::bind(&path).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let mut n = ServiceNotifier {
            socket: Some((UnixDatagram::unbound().unwrap(), path.display().to_string())),
            watchdog_every: Some(Duration::from_secs(3600)),
            last_ping: None,
        };
        n.ready("counting");
        n.tick();
        n.tick(); // not due yet: no second ping
        n.notify("STOPPING=1");
        let mut buf = [0u8; 256];
        let mut got = vec![];
        for _ in 0..3 {
            let len = server.recv(&mut buf).unwrap();
            got.push(String::from_utf8_lossy(&buf[..len]).to_string());
        }
        assert_eq!(
            got,
            ["READY=1\nSTATUS=counting", "WATCHDOG=1", "STOPPING=1"]
        );
    }

    #[test]
    fn outside_systemd_nothing_happens() {
        let mut n = ServiceNotifier {
            socket: None,
            watchdog_every: None,
            last_ping: None,
        };
        assert!(!n.active());
        n.ready("x");
        n.tick();
    }
}

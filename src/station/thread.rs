//! A station served on threads of its own (the daemon's, the bench's), beside a loop that
//! must never wait for it.

use std::net::SocketAddr;
use std::time::Duration;

use super::{Station, StationError};

/// How long stopping waits for open requests to finish.
const STOP_WAIT: Duration = Duration::from_secs(5);
/// How much nicer than the loop the station's threads are: when the CPU is short, a page
/// waits, a button press does not.
const STATION_NICE: i32 = 5;

/// A station being served by its own thread; [`Served::stop`] ends it.
#[derive(Debug)]
pub struct Served {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    /// Binds the station's address now (so a taken port is reported to the caller) and
    /// serves it on a thread with a runtime of `workers` threads; every thread of that
    /// runtime (blocking ones included) runs at a lower priority than the loop.
    pub fn start(station: Station, workers: usize) -> Result<Served, StationError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.max(1))
            .thread_name("station")
            .on_thread_start(|| {
                if let Err(e) = crate::sys::lower_thread_priority(STATION_NICE) {
                    log::debug!("a station thread keeps the loop's priority: {e}");
                }
            })
            .enable_all()
            .build()
            .map_err(StationError::Serve)?;
        let listener = runtime.block_on(station.bind())?;
        let addr = listener.local_addr().map_err(StationError::Serve)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("station".into())
            .spawn(move || {
                // This thread accepts the connections: it yields to the loop too.
                if let Err(e) = crate::sys::lower_thread_priority(STATION_NICE) {
                    log::debug!("the station's thread keeps the loop's priority: {e}");
                }
                let served = runtime.block_on(station.serve(listener, async move {
                    let _ = stopped.await;
                }));
                if let Err(e) = served {
                    log::error!("review station: {e}");
                }
                runtime.shutdown_timeout(STOP_WAIT);
            })
            .map_err(StationError::Serve)?;
        Ok(Served {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving (open pages and live streams are closed) and waits for the thread.
    pub fn stop(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _already_stopped = stop.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::error!("the review station's thread panicked");
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.shut();
    }
}

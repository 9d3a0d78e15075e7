//! A fault-injecting TCP relay in front of a server (the real kube-apiserver, usually): it
//! forwards bytes untouched (TLS passes through) until the test switches it, at run time, to
//! one of three faults:
//!
//! - [`Mode::Close`]: every open connection is closed (FIN) and new ones are accepted and closed
//!   at once;
//! - [`Mode::Refuse`]: every open connection is closed and the port stops listening (a connect
//!   is refused, `ECONNREFUSED`); the same port listens again when the mode changes;
//! - [`Mode::BlackHole`]: open and new connections stay open and are read, but nothing is
//!   forwarded either way and nothing is ever sent back — no FIN, no RST: a server whose VM died,
//!   or a flow a NAT forgot.
//!
//! [`Relay::black_hole_existing`] silences only the connections open now while new ones are
//! forwarded again: what a client sees when one connection dies and the server is fine.
//!
//! [`Relay::set_target`] points new connections at another port: the relay's own port is what
//! clients know, so a server that restarts on another port stays at the same address for them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the relay does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Relay bytes both ways.
    Forward,
    /// Close every connection, open or new.
    Close,
    /// Close every open connection; refuse new ones (nothing listens).
    Refuse,
    /// Keep every connection open and read it; forward nothing, answer nothing.
    BlackHole,
}

/// A relay to `127.0.0.1:<target>` on a port of its own ([`Relay::port`]).
pub struct Relay {
    /// The port clients connect to.
    pub port: u16,
    shared: Arc<Shared>,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    target: Mutex<SocketAddr>,
    mode: Mutex<Mode>,
    connections: Mutex<Vec<Connection>>,
    accepted: AtomicUsize,
}

struct Connection {
    silenced: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Relay {
    /// A relay that forwards to the server on `127.0.0.1:<target>`.
    pub async fn start(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the relay");
        let port = listener.local_addr().expect("relay address").port();
        let shared = Arc::new(Shared {
            target: Mutex::new(SocketAddr::from(([127, 0, 0, 1], target))),
            mode: Mutex::new(Mode::Forward),
            connections: Mutex::default(),
            accepted: AtomicUsize::new(0),
        });
        let acceptor = tokio::spawn(accept(listener, shared.clone()));
        Relay {
            port,
            shared,
            acceptor: Mutex::new(Some(acceptor)),
        }
    }

    /// The mode now.
    pub fn mode(&self) -> Mode {
        *self.shared.mode.lock().unwrap()
    }

    /// Switches to `mode`; open connections follow it at once (see [`Mode`]).
    pub async fn set_mode(&self, mode: Mode) {
        let before = std::mem::replace(&mut *self.shared.mode.lock().unwrap(), mode);
        match mode {
            Mode::Forward => {}
            Mode::Close | Mode::Refuse => self.close_all(),
            Mode::BlackHole => self.black_hole_existing(),
        }
        let listening = self.acceptor.lock().unwrap().is_some();
        if mode == Mode::Refuse && listening {
            let acceptor = self.acceptor.lock().unwrap().take();
            if let Some(task) = acceptor {
                task.abort();
                // The listener is dropped with the task; wait until the port is really closed.
                let _ = task.await;
            }
        } else if mode != Mode::Refuse && !listening {
            let listener = rebind(self.port).await;
            *self.acceptor.lock().unwrap() =
                Some(tokio::spawn(accept(listener, self.shared.clone())));
        }
        tracing::info!(relay = self.port, ?before, ?mode, "relay mode");
    }

    /// Relays new connections to `127.0.0.1:<target>` (open ones stay with the old target).
    pub fn set_target(&self, target: u16) {
        *self.shared.target.lock().unwrap() = SocketAddr::from(([127, 0, 0, 1], target));
    }

    /// Silences every connection open now (nothing forwarded either way, nothing closed) and
    /// leaves the mode alone: new connections are relayed as before.
    pub fn black_hole_existing(&self) {
        for connection in self.shared.connections.lock().unwrap().iter() {
            connection.silenced.store(true, Ordering::SeqCst);
        }
    }

    /// Closes every open connection (the mode stays).
    pub fn close_all(&self) {
        for connection in self.shared.connections.lock().unwrap().drain(..) {
            connection.task.abort();
        }
    }

    /// Connections accepted so far (refused ones are not).
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        let mut connections = self.shared.connections.lock().unwrap();
        connections.retain(|c| !c.task.is_finished());
        connections.len()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(task) = self.acceptor.lock().unwrap().take() {
            task.abort();
        }
        self.close_all();
    }
}

async fn rebind(port: u16) -> TcpListener {
    // The port was ours a moment ago; another process could take it only in that moment.
    for _ in 0..100 {
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)).await {
            return listener;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the relay could not listen on port {port} again");
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((inbound, _)) = listener.accept().await {
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        let mode = *shared.mode.lock().unwrap();
        let silenced = Arc::new(AtomicBool::new(mode == Mode::BlackHole));
        let task = match mode {
            Mode::Close | Mode::Refuse => {
                drop(inbound);
                continue;
            }
            Mode::BlackHole => tokio::spawn(swallow(inbound)),
            Mode::Forward => {
                let target = *shared.target.lock().unwrap();
                tokio::spawn(relay(inbound, target, silenced.clone()))
            }
        };
        let mut connections = shared.connections.lock().unwrap();
        connections.retain(|c| !c.task.is_finished());
        connections.push(Connection { silenced, task });
    }
}

/// Reads and discards everything, forever; answers nothing.
async fn swallow(mut inbound: TcpStream) {
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = inbound.read(&mut buf).await {
        if n == 0 {
            // The client closed its side; keep ours open (a black hole never says goodbye).
            std::future::pending::<()>().await;
        }
    }
}

async fn relay(inbound: TcpStream, target: SocketAddr, silenced: Arc<AtomicBool>) {
    let Ok(outbound) = TcpStream::connect(target).await else {
        return;
    };
    let (client_read, client_write) = inbound.into_split();
    let (server_read, server_write) = outbound.into_split();
    let up = pump(client_read, server_write, silenced.clone());
    let down = pump(server_read, client_write, silenced.clone());
    // Either side ending ends the relay, unless silenced (then it is held open forever).
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
    if silenced.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
}

/// Copies `from` to `to` until either ends; once `silenced`, reads and discards instead.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    silenced: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                if silenced.load(Ordering::SeqCst) {
                    std::future::pending::<()>().await;
                }
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => n,
        };
        if silenced.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

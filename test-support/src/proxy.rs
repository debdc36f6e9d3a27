//! [`TcpProxy`]: a TCP proxy on `127.0.0.1` in front of one address, to
//! cut one client off from a server (etcd) while the others go on, or to
//! silence its connections without closing them.

use std::io;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// A TCP proxy on `127.0.0.1` in front of one address, that can cut its
/// connections: to cut one client off from etcd while others go on.
///
/// [`cut`](Self::cut) closes every open connection and closes each new one
/// at once, until [`restore`](Self::restore); [`freeze`](Self::freeze)
/// silences them without closing them, until [`thaw`](Self::thaw). Threads,
/// not tasks: it works with any runtime or none. Dropping it closes
/// everything.
#[derive(Debug)]
pub struct TcpProxy {
    address: SocketAddr,
    shared: Arc<ProxyShared>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug)]
struct ProxyShared {
    target: SocketAddr,
    cut: AtomicBool,
    frozen: AtomicBool,
    closing: AtomicBool,
    open: Mutex<Vec<TcpStream>>,
}

impl TcpProxy {
    /// A proxy to `target` (as `127.0.0.1:PORT`, such as
    /// [`Etcd::endpoint`](crate::etcd::Etcd::endpoint)), on a free port.
    ///
    /// # Errors
    ///
    /// When `target` is not a socket address or no port can be bound.
    pub fn start(target: &str) -> io::Result<Self> {
        let target: SocketAddr = target
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let address = listener.local_addr()?;
        let shared = Arc::new(ProxyShared {
            target,
            cut: AtomicBool::new(false),
            frozen: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            open: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("tcp-proxy".into())
                .spawn(move || accept(&listener, &shared))?
        };
        Ok(Self {
            address,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// The proxy's endpoint, `127.0.0.1:PORT`.
    #[must_use]
    pub fn endpoint(&self) -> String {
        self.address.to_string()
    }

    /// Closes every connection through the proxy, and each new one at once,
    /// until [`restore`](Self::restore).
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        self.shared.close_all();
    }

    /// Lets new connections through again.
    pub fn restore(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }

    /// Stops forwarding without closing anything, as a network cut that
    /// no one is told of: connections stay open and silent (new ones too),
    /// until [`thaw`](Self::thaw) forwards what was held.
    pub fn freeze(&self) {
        self.shared.frozen.store(true, Ordering::SeqCst);
    }

    /// Forwards again, what was held first.
    pub fn thaw(&self) {
        self.shared.frozen.store(false, Ordering::SeqCst);
    }
}

impl ProxyShared {
    fn close_all(&self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        for stream in open.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn accept(listener: &TcpListener, shared: &Arc<ProxyShared>) {
    for incoming in listener.incoming() {
        if shared.closing.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = incoming else { continue };
        if shared.cut.load(Ordering::SeqCst) {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        let Ok(server) = TcpStream::connect_timeout(&shared.target, Duration::from_secs(1)) else {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (Ok(client_2), Ok(server_2), Ok(client_3), Ok(server_3)) = (
            client.try_clone(),
            server.try_clone(),
            client.try_clone(),
            server.try_clone(),
        ) else {
            continue;
        };
        shared
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend([client_3, server_3]);
        let up = Arc::clone(shared);
        let _ = std::thread::Builder::new()
            .name("tcp-proxy-up".into())
            .spawn(move || pipe(client, server, &up));
        let down = Arc::clone(shared);
        let _ = std::thread::Builder::new()
            .name("tcp-proxy-down".into())
            .spawn(move || pipe(server_2, client_2, &down));
    }
}

/// Copies `from` to `to` until either ends, then closes both ways.
/// While the proxy is frozen, what was read waits before it is written.
fn pipe(mut from: TcpStream, mut to: TcpStream, shared: &ProxyShared) {
    let mut buffer = vec![0; 16 * 1024];
    'copy: loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        while shared.frozen.load(Ordering::SeqCst) {
            if shared.closing.load(Ordering::SeqCst) {
                break 'copy;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let Some(data) = buffer.get(..read) else {
            break;
        };
        if to.write_all(data).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        self.shared.close_all();
        // Wake the acceptor up so that it sees `closing`.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

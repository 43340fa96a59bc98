//! A TCP proxy a test owns, in front of a shared server: the way to take a
//! backend away from the service (and bring it back) without touching the
//! server other tests use.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward,
    /// New connections are closed at once, as by a stopped server.
    Refuse,
    /// New connections are accepted and never answered, as by a hung one.
    BlackHole,
}

struct State {
    mode: Mode,
    /// Connections being forwarded or held, to end them on a cut.
    connections: Vec<AbortHandle>,
}

pub struct TcpProxy {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    accept_loop: AbortHandle,
}

impl TcpProxy {
    /// Listens on a free local port and forwards to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            mode: Mode::Forward,
            connections: Vec::new(),
        }));
        let shared = state.clone();
        let accept_loop = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mode = shared.lock().unwrap().mode;
                let task = match mode {
                    Mode::Refuse => continue,
                    Mode::BlackHole => tokio::spawn(async move {
                        // Hold the socket open and say nothing.
                        std::future::pending::<()>().await;
                        drop(client);
                    }),
                    Mode::Forward => tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(target).await {
                            let _ = copy_bidirectional(&mut client, &mut server).await;
                        }
                    }),
                };
                shared.lock().unwrap().connections.push(task.abort_handle());
            }
        })
        .abort_handle();
        Self {
            addr,
            state,
            accept_loop,
        }
    }

    /// `url` with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let user = authority
            .rsplit_once('@')
            .map(|(user, _)| format!("{user}@"));
        let path = if path.is_empty() {
            String::new()
        } else {
            format!("/{path}")
        };
        format!("{scheme}://{}{}{path}", user.unwrap_or_default(), self.addr)
    }

    /// The server goes away: open connections drop, new ones are refused.
    pub fn cut(&self) {
        self.switch(Mode::Refuse);
    }

    /// The server hangs: open connections drop, new ones are never answered.
    pub fn black_hole(&self) {
        self.switch(Mode::BlackHole);
    }

    /// The server is back.
    pub fn restore(&self) {
        self.switch(Mode::Forward);
    }

    fn switch(&self, mode: Mode) {
        let mut state = self.state.lock().unwrap();
        state.mode = mode;
        for connection in state.connections.drain(..) {
            connection.abort();
        }
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept_loop.abort();
        self.switch(Mode::Refuse);
    }
}

/// The socket address of a `scheme://[user@]host:port/...` URL.
pub fn socket_addr_of(url: &str) -> SocketAddr {
    let rest = url.split_once("://").expect("a URL").1;
    let authority = rest.split('/').next().unwrap();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let default_port = if url.starts_with("redis") { 6379 } else { 5432 };
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    };
    use std::net::ToSocketAddrs;
    host_port
        .to_socket_addrs()
        .unwrap()
        .find(|addr| addr.is_ipv4())
        .expect("an IPv4 address")
}

//! A local TCP relay in front of one server of an existing ensemble, so the demo can cut
//! its client off that server without touching the server itself.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Forwards connections from a loopback port to one server until cut.
#[derive(Debug)]
pub(crate) struct Relay {
    /// Where the demo's client connects.
    pub(crate) addr: SocketAddr,
    /// The server behind it (`host:port`).
    pub(crate) target: String,
    cut: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

impl Relay {
    /// Listens on a free loopback port.
    pub(crate) async fn start(target: String) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (cut, cut_rx) = watch::channel(false);
        let to = target.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if *cut_rx.borrow() {
                    // Cut: accept and close at once, like a dead server's port.
                    continue;
                }
                let mut cut = cut_rx.clone();
                let to = to.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&to).await else {
                        return;
                    };
                    let _ = inbound.set_nodelay(true);
                    let _ = outbound.set_nodelay(true);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Ok(Self {
            addr,
            target,
            cut,
            accept,
        })
    }

    /// Closes every relayed connection and refuses new ones.
    pub(crate) fn cut(&self) {
        let _ = self.cut.send(true);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

//! Nagle's algorithm turned off on the store's TCP connections to PostgreSQL.
//!
//! sqlx 0.9.0 opens its TCP connections without `TCP_NODELAY` (sqlx issue
//! #4335; the fix, PR #4336, is merged upstream but not released). With
//! Nagle's algorithm on, the tail of a statement larger than one segment (a
//! group commit's) waits for PostgreSQL to acknowledge the part before it,
//! and PostgreSQL delays that acknowledgement by up to 40 ms: over TCP the
//! service did half the hits per second it did over the Unix socket
//! (docs/performance.md).
//!
//! sqlx gives no access to the socket it opened, so after each new connection
//! this sets the option on every TCP socket of the process whose peer is on
//! the database's port: the new connection's among them. On any other socket
//! it could reach, the option is as harmless as it is for these.
//!
//! Delete this module once the workspace is on an sqlx past 0.9.0.

use std::os::fd::{BorrowedFd, RawFd};

use socket2::SockRef;

/// Sets `TCP_NODELAY` on the process's TCP sockets connected to `port`.
/// Best effort: a socket it cannot inspect is left as it is.
pub(crate) fn set_on_sockets_towards(port: u16) {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    for entry in entries.flatten() {
        // Each entry is a descriptor; a socket's links to `socket:[inode]`.
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        let descriptor = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<RawFd>().ok());
        if let (true, Some(descriptor)) = (is_socket, descriptor) {
            set_if_towards(descriptor, port);
        }
    }
}

#[allow(unsafe_code)]
fn set_if_towards(descriptor: RawFd, port: u16) {
    // SAFETY: the descriptor is only read and configured through system
    // calls, never closed or kept. Should another thread close it meanwhile,
    // the calls fail (EBADF), or reach whatever reused the number, which the
    // peer check below then filters; no memory is touched either way.
    let descriptor = unsafe { BorrowedFd::borrow_raw(descriptor) };
    let socket = SockRef::from(&descriptor);
    let towards = socket
        .peer_addr()
        .ok()
        .and_then(|address| address.as_socket())
        .is_some_and(|address| address.port() == port);
    if towards {
        let _ = socket.set_tcp_nodelay(true);
    }
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};

    use socket2::SockRef;

    use super::set_on_sockets_towards;

    #[test]
    fn sets_the_option_on_sockets_to_the_port_and_leaves_the_others() {
        let database = TcpListener::bind("127.0.0.1:0").unwrap();
        let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
        let to_database = TcpStream::connect(database.local_addr().unwrap()).unwrap();
        let to_elsewhere = TcpStream::connect(elsewhere.local_addr().unwrap()).unwrap();
        assert!(!SockRef::from(&to_database).tcp_nodelay().unwrap());

        set_on_sockets_towards(database.local_addr().unwrap().port());

        assert!(SockRef::from(&to_database).tcp_nodelay().unwrap());
        assert!(!SockRef::from(&to_elsewhere).tcp_nodelay().unwrap());
    }
}

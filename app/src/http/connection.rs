//! The bounds every connection keeps, for every request on it.
//!
//! actix-web bounds the first request's head (`client_request_timeout`) and
//! an idle connection (keep-alive), but once a byte of a later request has
//! arrived nothing bounds the rest of its head: a client trickling one byte
//! a second holds its connection, and a descriptor, for ever. Nor does a 408
//! close the connection when the body it gave up on was chunked: actix-web
//! goes on draining that body, as long as the client cares to send it.
//!
//! So each accepted socket is wrapped in a [`BoundedStream`], which the
//! request middleware tells where the connection is ([`ConnectionPhase`]):
//! - between requests, the next request's head must arrive within
//!   [`NEXT_HEAD_WITHIN`] of the previous answer, else reading fails and
//!   actix-web drops the connection;
//! - within a request, the handlers bound the body themselves (408);
//! - once a handler gives up on a body ([`ConnectionPhase::close`]), reading
//!   ends as if the client had closed its side: actix-web writes the answer
//!   and closes.
//!
//! Under pressure, when a worker holds three quarters of the connections it
//! may, a connection waiting for a head gets [`HEAD_WITHIN_UNDER_PRESSURE`]
//! instead: a flood of sockets that send nothing useful is cut within a
//! second or two, and the connections queued behind it (a health check, a
//! client with a key) are accepted.

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::rt::net::TcpStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// How long a connection may stay open without a request: actix-web's
/// keep-alive, for a connection on which no byte arrives.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// How long the first request's head may take to arrive (actix-web's bound,
/// answered 408).
pub const FIRST_HEAD_WITHIN: Duration = Duration::from_secs(5);
/// How long after an answer the next request's head must be complete: the
/// keep-alive, then the time a head may take.
pub const NEXT_HEAD_WITHIN: Duration = Duration::from_secs(10);
/// The same, while the worker is under pressure.
pub const HEAD_WITHIN_UNDER_PRESSURE: Duration = Duration::from_secs(1);

thread_local! {
    /// The connections open on this worker thread, and how many it may hold.
    static OPEN: Cell<(usize, usize)> = const { Cell::new((0, usize::MAX)) };
}

/// Sets how many connections each worker may hold (on its own thread).
pub fn set_worker_capacity(capacity: usize) {
    OPEN.with(|open| open.set((open.get().0, capacity.max(1))));
}

/// Whether this worker holds three quarters of the connections it may.
fn under_pressure() -> bool {
    let (open, capacity) = OPEN.with(Cell::get);
    open.saturating_mul(4) >= capacity.saturating_mul(3)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request's head since this instant.
    Between(Instant),
    /// A request is being served.
    InRequest,
    /// The connection is to be closed once the answer is written.
    Closing,
}

/// Where a connection is, shared by its stream and its requests (as
/// connection data, on the worker thread that serves it).
#[derive(Clone)]
pub struct ConnectionPhase(Rc<State>);

struct State {
    phase: Cell<Phase>,
    /// The task reading the connection, to wake when it is to close.
    reader: Cell<Option<Waker>>,
}

impl ConnectionPhase {
    fn new() -> Self {
        Self(Rc::new(State {
            phase: Cell::new(Phase::Between(Instant::now())),
            reader: Cell::new(None),
        }))
    }

    /// The connection of `request`, unless it was not accepted through a
    /// [`BoundedStream`] (a test calling the app directly).
    pub fn of(request: &HttpRequest) -> Option<Self> {
        request.conn_data::<Self>().cloned()
    }

    /// A request's head arrived: the handlers bound the rest.
    pub fn request_started(&self) {
        if self.0.phase.get() != Phase::Closing {
            self.0.phase.set(Phase::InRequest);
        }
    }

    /// The request was answered: the next head is bounded from now.
    pub fn request_answered(&self) {
        if self.0.phase.get() != Phase::Closing {
            self.0.phase.set(Phase::Between(Instant::now()));
        }
    }

    /// Closes the connection once the answer is written, whatever is left
    /// unread (the rest of a body that stalled).
    pub fn close(&self) {
        self.0.phase.set(Phase::Closing);
        if let Some(reader) = self.0.reader.take() {
            reader.wake();
        }
    }
}

/// An accepted socket, read within its connection's bounds.
pub struct BoundedStream {
    socket: TcpStream,
    phase: ConnectionPhase,
    /// Wakes the reader when the next head is due, so that a client that
    /// stops sending is noticed too.
    due: Pin<Box<Sleep>>,
}

impl BoundedStream {
    pub fn new(socket: TcpStream) -> Self {
        let phase = ConnectionPhase::new();
        OPEN.with(|open| {
            let (count, capacity) = open.get();
            open.set((count + 1, capacity));
        });
        Self {
            socket,
            phase,
            due: Box::pin(tokio::time::sleep(NEXT_HEAD_WITHIN)),
        }
    }

    /// The phase handle the connection's requests get.
    pub fn phase(&self) -> ConnectionPhase {
        self.phase.clone()
    }

    pub fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.socket.peer_addr()
    }
}

impl Drop for BoundedStream {
    fn drop(&mut self) {
        OPEN.with(|open| {
            let (count, capacity) = open.get();
            open.set((count.saturating_sub(1), capacity));
        });
    }
}

impl AsyncRead for BoundedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let since = match this.phase.0.phase.get() {
            // As if the client had closed its side: nothing more is read.
            Phase::Closing => return Poll::Ready(Ok(())),
            Phase::Between(since) => Some(since),
            Phase::InRequest => None,
        };
        let now = Instant::now();
        if since.is_some_and(|since| now >= since + head_bound()) {
            return Poll::Ready(Err(head_too_slow()));
        }
        let read = Pin::new(&mut this.socket).poll_read(cx, buf);
        if read.is_pending() {
            this.phase.0.reader.set(Some(cx.waker().clone()));
            // Woken at the deadline, or at the deadline under pressure to
            // look again, so that pressure arising meanwhile counts too.
            if let Some(since) = since {
                let normal = since + NEXT_HEAD_WITHIN;
                let pressed = since + HEAD_WITHIN_UNDER_PRESSURE;
                let wake_at = if now < pressed { pressed } else { normal };
                if this.due.deadline() != wake_at {
                    this.due.as_mut().reset(wake_at);
                }
                if this.due.as_mut().poll(cx).is_ready() {
                    // Due now: read again, which decides with the pressure
                    // of this moment.
                    cx.waker().wake_by_ref();
                }
            }
        }
        read
    }
}

/// How long a request's head may take now.
fn head_bound() -> Duration {
    if under_pressure() {
        HEAD_WITHIN_UNDER_PRESSURE
    } else {
        NEXT_HEAD_WITHIN
    }
}

fn head_too_slow() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "no request head in time after the last answer",
    )
}

impl AsyncWrite for BoundedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.socket.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A bounded stream of an accepted connection, and the client's end.
    async fn connected() -> (BoundedStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        (BoundedStream::new(accepted), client)
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_that_trickles_past_its_bound_ends_the_connection() {
        let (mut server, mut client) = connected().await;
        let mut byte = [0u8; 1];
        // A byte every second keeps arriving; the bound holds all the same.
        let trickle = tokio::spawn(async move {
            for _ in 0..30 {
                if client.write_all(b"G").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        let started = Instant::now();
        let error = loop {
            match server.read(&mut byte).await {
                Ok(_) => continue,
                Err(error) => break error,
            }
        };
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        let took = started.elapsed();
        assert!(
            (NEXT_HEAD_WITHIN..NEXT_HEAD_WITHIN + Duration::from_secs(2)).contains(&took),
            "{took:?}"
        );
        trickle.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_sending_is_noticed_at_the_bound() {
        let (mut server, _client) = connected().await;
        let mut byte = [0u8; 1];
        let error = server.read(&mut byte).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn within_a_request_the_stream_sets_no_bound() {
        let (mut server, mut client) = connected().await;
        server.phase().request_started();
        let mut byte = [0u8; 1];
        let waited = tokio::time::timeout(NEXT_HEAD_WITHIN * 3, server.read(&mut byte)).await;
        assert!(waited.is_err(), "the read ended by itself: {waited:?}");
        client.write_all(b"x").await.unwrap();
        assert_eq!(server.read(&mut byte).await.unwrap(), 1);
        // Answered: the next head is bounded from now.
        server.phase().request_answered();
        let error = server.read(&mut byte).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn under_pressure_a_waiting_connection_is_cut_sooner() {
        set_worker_capacity(4);
        let (mut server, _client) = connected().await;
        // Three of four places taken (this one and two more): pressure.
        let (_second, _c2) = connected().await;
        let (_third, _c3) = connected().await;
        let started = Instant::now();
        let mut byte = [0u8; 1];
        let error = server.read(&mut byte).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        let took = started.elapsed();
        assert!(took < NEXT_HEAD_WITHIN, "{took:?}");
        set_worker_capacity(usize::MAX);
    }

    /// Sets this thread's count of open connections and its capacity.
    fn holding(open: usize, capacity: usize) {
        OPEN.with(|cell| cell.set((open, capacity)));
    }

    #[test]
    fn pressure_begins_at_three_quarters_of_the_capacity() {
        // (open, capacity, under pressure)
        let cases = [
            (0, 4, false),
            (2, 4, false),
            (3, 4, true),
            (4, 4, true),
            (2, 3, false),
            (3, 3, true),
            (74, 100, false),
            (75, 100, true),
            (1, 1, true),
            (0, usize::MAX, false),
            (usize::MAX, usize::MAX, true),
        ];
        for (open, capacity, expected) in cases {
            holding(open, capacity);
            assert_eq!(under_pressure(), expected, "{open} of {capacity}");
        }
    }

    #[test]
    fn a_capacity_of_zero_is_taken_as_one() {
        holding(0, 4);
        set_worker_capacity(0);
        assert_eq!(OPEN.with(Cell::get), (0, 1));
        set_worker_capacity(16);
        assert_eq!(OPEN.with(Cell::get), (0, 16));
    }

    #[tokio::test]
    async fn each_open_stream_counts_until_it_is_dropped() {
        holding(0, 8);
        let (first, _c1) = connected().await;
        let (second, _c2) = connected().await;
        assert_eq!(OPEN.with(Cell::get), (2, 8));
        drop(first);
        assert_eq!(OPEN.with(Cell::get), (1, 8));
        drop(second);
        assert_eq!(OPEN.with(Cell::get), (0, 8));
    }

    #[tokio::test(start_paused = true)]
    async fn below_the_pressure_a_waiting_connection_keeps_the_whole_bound() {
        holding(0, 4);
        // Two of four places taken: no pressure.
        let (mut server, _client) = connected().await;
        let (_second, _c2) = connected().await;
        let started = Instant::now();
        let mut byte = [0u8; 1];
        let error = server.read(&mut byte).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        let took = started.elapsed();
        assert!(
            (NEXT_HEAD_WITHIN..NEXT_HEAD_WITHIN + Duration::from_secs(1)).contains(&took),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn what_is_written_reaches_the_client_and_a_shutdown_ends_its_stream() {
        let (mut server, mut client) = connected().await;
        server.write_all(b"HTTP/1.1 200 OK\r\n").await.unwrap();
        let parts = [io::IoSlice::new(b"a: "), io::IoSlice::new(b"b\r\n")];
        let written = server.write_vectored(&parts).await.unwrap();
        assert!(written > 0);
        server.flush().await.unwrap();
        // The server's side closes while it still holds the stream: the
        // client sees the end at once, not when the stream is dropped.
        server.shutdown().await.unwrap();
        let mut received = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut received))
            .await
            .expect("the client sees the end of the stream while the server holds it")
            .unwrap();
        let expected = b"HTTP/1.1 200 OK\r\na: b\r\n";
        assert_eq!(&received, &expected[..17 + written]);
        drop(server);
    }

    #[tokio::test]
    async fn closing_ends_a_read_in_progress_as_the_end_of_the_stream() {
        let (mut server, mut client) = connected().await;
        let phase = server.phase();
        phase.request_started();
        let reading = async {
            let mut bytes = [0u8; 8];
            server.read(&mut bytes).await
        };
        let closing = async {
            tokio::task::yield_now().await;
            phase.close();
        };
        let (read, ()) = tokio::join!(reading, closing);
        assert_eq!(read.unwrap(), 0, "the end of the stream");
        // Later requests cannot reopen it.
        phase.request_started();
        phase.request_answered();
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let mut bytes = [0u8; 8];
        assert_eq!(server.read(&mut bytes).await.unwrap(), 0);
    }
}

//! A Redis server of the test's own, on a free port: for what must never
//! be done to the shared one (a flush, a swap of databases).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::waiting::eventually;

pub struct ThrowawayRedis {
    pub url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl ThrowawayRedis {
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs (Debian: apt-get install redis-server)");
        let redis = Self {
            url: format!("redis://127.0.0.1:{port}"),
            child,
            _dir: dir,
        };
        eventually(
            "the throwaway Redis answers",
            Duration::from_secs(10),
            || async move { std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() },
        )
        .await;
        redis
    }
}

impl Drop for ThrowawayRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! A server process started by a test or by `mush up`: its output kept, its readiness polled,
//! and signals sent to it.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// A minimal HTTP/1.1 GET to 127.0.0.1 (health endpoints): status and body.
pub async fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    http(port, "GET", path, "").await
}

/// The value of a metric scraped from a process's `/metrics`, summed over its label sets;
/// `None` when the process does not answer or does not export it.
pub async fn metric(port: u16, name: &str) -> Option<f64> {
    let (_, body) = http_get(port, "/metrics").await.ok()?;
    let mut found = None;
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let series = line.split([' ', '{']).next().unwrap_or("");
        if series == name
            && let Some(v) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok())
        {
            found = Some(found.unwrap_or(0.0) + v);
        }
    }
    found
}

/// A minimal HTTP/1.1 POST with no body to 127.0.0.1.
pub async fn http_post(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    http(port, "POST", path, "").await
}

/// A POST with a bearer token.
pub async fn http_post_bearer(port: u16, path: &str, token: &str) -> std::io::Result<(u16, String)> {
    http(port, "POST", path, &format!("Authorization: Bearer {token}\r\n")).await
}

async fn http(port: u16, method: &str, path: &str, headers: &str) -> std::io::Result<(u16, String)> {
    let mut s = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(("127.0.0.1", port)))
        .await
        .map_err(|_| std::io::Error::other("timed out connecting"))??;
    s.write_all(
        format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await?;
    let mut buf = String::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut buf))
        .await
        .map_err(|_| std::io::Error::other("timed out reading"))??;
    let status = buf.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// A child process with its output captured (and echoed with a prefix when `echo` is set).
pub struct ServerProcess {
    pub name: String,
    child: Child,
    health_port: u16,
    output: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `program args…`, in its own process group (a terminal's Ctrl-C does not reach it).
    pub fn spawn(
        name: &str,
        program: &std::path::Path,
        args: &[String],
        health_port: u16,
        echo: bool,
    ) -> std::io::Result<Self> {
        Self::spawn_with_env(name, program, args, &[], health_port, echo)
    }

    /// [`ServerProcess::spawn`], with environment variables (secrets stay off the command
    /// line, which every user of the machine can read).
    pub fn spawn_with_env(
        name: &str,
        program: &std::path::Path,
        args: &[String],
        env: &[(String, String)],
        health_port: u16,
        echo: bool,
    ) -> std::io::Result<Self> {
        let mut command = Command::new(program);
        command.envs(env.iter().map(|(k, v)| (k, v)));
        // SAFETY: prctl(2) only, between fork and exec: the child is told SIGTERM if this process
        // dies, so a killed launcher or test never leaves servers behind.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()?;
        let output: Arc<Mutex<Vec<String>>> = Arc::default();
        let streams: [Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>; 2] = [
            child.stdout.take().map(|s| Box::new(s) as _),
            child.stderr.take().map(|s| Box::new(s) as _),
        ];
        for stream in streams.into_iter().flatten() {
            let out = output.clone();
            let prefix = name.to_owned();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if echo {
                        println!("{prefix:>17} | {line}");
                    }
                    let mut o = out.lock().expect("output lock");
                    if o.len() >= 20_000 {
                        o.drain(..10_000);
                    }
                    o.push(line);
                }
            });
        }
        Ok(Self {
            name: name.to_owned(),
            child,
            health_port,
            output,
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub fn health_port(&self) -> u16 {
        self.health_port
    }

    /// Lines the process printed so far.
    pub fn output(&self) -> Vec<String> {
        self.output.lock().expect("output lock").clone()
    }

    /// Whether `/readyz` answers 200, and its body.
    pub async fn readiness(&self) -> (bool, String) {
        match http_get(self.health_port, "/readyz").await {
            Ok((200, body)) => (true, body),
            Ok((_, body)) => (false, body),
            Err(e) => (false, e.to_string()),
        }
    }

    /// Waits until ready; `Err` with the last readiness answer and the process output if not.
    pub async fn wait_ready(&mut self, limit: Duration) -> Result<Duration, String> {
        let started = Instant::now();
        let mut last = String::new();
        while started.elapsed() < limit {
            let (ready, body) = self.readiness().await;
            if ready {
                return Ok(started.elapsed());
            }
            last = body;
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited ({status}); output:\n{}",
                    self.name,
                    self.output().join("\n")
                ));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err(format!(
            "{} not ready within {limit:?}: {last}\noutput:\n{}",
            self.name,
            self.output().join("\n")
        ))
    }

    /// Sends a signal (libc number, e.g. `libc::SIGTERM`).
    pub fn signal(&self, signal: i32) {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) on a pid this process started; no memory is involved.
            unsafe {
                libc::kill(pid as i32, signal);
            }
        }
    }

    /// SIGTERM, then waits up to `limit` for the exit (SIGKILL after that).
    pub async fn stop(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        self.signal(libc::SIGTERM);
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(Ok(status)) => Some(status),
            _ => {
                let _ = self.child.kill().await;
                None
            }
        }
    }

    /// SIGKILL and reap.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Exit status if it has exited.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

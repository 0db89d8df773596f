//! The control socket of a running `mush up` (`<dir>/control.sock`): one line in, lines out, the
//! last one starting with `ok` or `error`.
//!
//! ```text
//! restart game-server [kill]    →  … ok game-server ready in 812 ms (pid 4242)
//! status                        →  one line per process, then ok
//! ```

use std::path::PathBuf;

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

#[derive(clap::Args)]
pub struct RestartArgs {
    /// The process: game-server, connection-server (connection-server-1, … with `mush up
    /// --gateways N`; game-standby with `mush up --standby`).
    pub process: String,
    /// Kill it (SIGKILL) instead of asking it to stop (SIGTERM).
    #[arg(long)]
    pub kill: bool,
    /// The state directory of the running `mush up`.
    #[arg(long, default_value = ".mush")]
    pub dir: PathBuf,
}

#[derive(clap::Args)]
pub struct StatusArgs {
    #[arg(long, default_value = ".mush")]
    pub dir: PathBuf,
}

/// A request as sent on the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Restart { process: String, kill: bool },
    Status,
}

impl Request {
    pub fn to_line(&self) -> String {
        match self {
            Request::Restart { process, kill: true } => format!("restart {process} kill\n"),
            Request::Restart { process, kill: false } => format!("restart {process}\n"),
            Request::Status => "status\n".into(),
        }
    }

    pub fn parse(line: &str) -> Result<Self, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["status"] => Ok(Request::Status),
            ["restart", p] => Ok(Request::Restart {
                process: (*p).to_owned(),
                kill: false,
            }),
            ["restart", p, "kill"] => Ok(Request::Restart {
                process: (*p).to_owned(),
                kill: true,
            }),
            _ => Err(format!("unknown request: {line:?}")),
        }
    }
}

pub fn socket_path(dir: &std::path::Path) -> PathBuf {
    dir.join("control.sock")
}

async fn send(dir: &std::path::Path, request: Request) -> anyhow::Result<()> {
    let path = socket_path(dir);
    let mut stream = UnixStream::connect(&path).await.with_context(|| {
        format!(
            "no running `mush up` answers at {} (start one with `mush up`)",
            path.display()
        )
    })?;
    stream.write_all(request.to_line().as_bytes()).await?;
    let mut lines = BufReader::new(stream).lines();
    while let Some(line) = lines.next_line().await? {
        println!("{line}");
        if line.starts_with("ok") {
            return Ok(());
        }
        if let Some(e) = line.strip_prefix("error") {
            anyhow::bail!("{}", e.trim());
        }
    }
    anyhow::bail!("`mush up` closed the connection without an answer")
}

pub async fn restart(args: RestartArgs) -> anyhow::Result<()> {
    send(
        &args.dir,
        Request::Restart {
            process: args.process,
            kill: args.kill,
        },
    )
    .await
}

pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    send(&args.dir, Request::Status).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_nonsense_is_refused() {
        for r in [
            Request::Status,
            Request::Restart {
                process: "game-server".into(),
                kill: true,
            },
            Request::Restart {
                process: "connection-server".into(),
                kill: false,
            },
        ] {
            assert_eq!(Request::parse(&r.to_line()).unwrap(), r);
        }
        assert!(Request::parse("reboot everything").is_err());
    }
}

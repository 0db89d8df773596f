//! One server of a [`crate::Stack`]: its role, ports and launch, the process running it (if
//! any), and the readiness last seen. Started, stopped, restarted and watched here, for
//! `mush up`'s supervision and the tests' disruptions alike.

use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::process::ServerProcess;
use crate::wiring::{PortPlan, Ports, Role, Wiring};

/// Where a stack reports what happens to it (one line each: started, stopped, killed…).
pub type Report = Arc<dyn Fn(&str) + Send + Sync>;

/// How many times a server that finds a port it picked free already taken is started again on
/// new ports.
const PORT_RETRIES: u32 = 3;

/// Why a server did not start.
#[derive(Debug)]
pub enum StartError {
    /// The process could not be started at all.
    Spawn(std::io::Error),
    /// It started but did not become ready: the last readiness answer and its output.
    NotReady(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Spawn(e) => write!(f, "{e}"),
            StartError::NotReady(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for StartError {}

/// What [`Server::poll`] saw change since the last look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Exited(ExitStatus),
    Ready,
    /// Not ready any more, with the first failing check of `/readyz`.
    NotReady(String),
}

/// One server process of the stack, started or not.
pub struct Server {
    role: Role,
    name: String,
    wiring: Arc<Wiring>,
    plan: PortPlan,
    ports: Ports,
    echo: bool,
    report: Report,
    process: Option<ServerProcess>,
    ready: Option<bool>,
}

impl Server {
    pub(crate) fn new(role: Role, wiring: Arc<Wiring>, plan: PortPlan, echo: bool, report: Report) -> Self {
        Self {
            role,
            name: role.name(),
            wiring,
            plan,
            ports: plan.ports(role),
            echo,
            report,
            process: None,
            ready: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn ports(&self) -> Ports {
        self.ports
    }

    pub fn health_port(&self) -> u16 {
        self.ports.health
    }

    /// The running process, if any.
    pub fn process(&self) -> Option<&ServerProcess> {
        self.process.as_ref()
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().and_then(ServerProcess::pid)
    }

    /// The readiness last seen: `None` while starting.
    pub fn ready(&self) -> Option<bool> {
        self.ready
    }

    /// Lines the process printed so far (none when not running).
    pub fn output(&self) -> Vec<String> {
        self.process
            .as_ref()
            .map(ServerProcess::output)
            .unwrap_or_default()
    }

    /// Starts the process (replacing a previous one, which is killed) and returns its pid.
    pub fn start(&mut self) -> std::io::Result<u32> {
        let launch = self.wiring.launch(self.role, self.ports);
        let process = ServerProcess::spawn_with_env(
            &self.name,
            &launch.program,
            &launch.args,
            &launch.env,
            self.ports.health,
            self.echo,
        )
        .map_err(|e| std::io::Error::new(e.kind(), format!("starting {}: {e}", self.name)))?;
        let pid = process.pid().unwrap_or(0);
        self.process = Some(process);
        self.ready = None;
        self.say(&format!("{} started (pid {pid})", self.name));
        Ok(pid)
    }

    /// Waits until `/readyz` answers 200; `Err` with the last answer and the output if not.
    pub async fn wait_ready(&mut self, limit: Duration) -> Result<Duration, String> {
        let Some(process) = self.process.as_mut() else {
            return Err(format!("{} is not running", self.name));
        };
        let waited = process.wait_ready(limit).await?;
        self.ready = Some(true);
        Ok(waited)
    }

    /// Starts the process and waits until it is ready. A port picked free may be taken before
    /// the server binds it (by another program's connection): the server says so and is started
    /// again on new ports.
    pub async fn start_ready(&mut self, limit: Duration) -> Result<Duration, StartError> {
        let mut retries = 0;
        loop {
            self.start().map_err(StartError::Spawn)?;
            match self.wait_ready(limit).await {
                Err(e) if e.contains("Address already in use") && self.may_pick_ports_again(retries) => {
                    retries += 1;
                    self.ports = self.plan.ports(self.role);
                }
                result => return result.map_err(StartError::NotReady),
            }
        }
    }

    fn may_pick_ports_again(&self, retries: u32) -> bool {
        retries < PORT_RETRIES && self.plan.picks_free(self.role)
    }

    /// Stops the process (SIGTERM, or SIGKILL when `kill`) and waits for it to exit.
    pub async fn stop(&mut self, kill: bool) {
        let Some(mut process) = self.process.take() else {
            return;
        };
        self.ready = Some(false);
        if kill {
            process.kill().await;
            self.say(&format!("{} killed", self.name));
            return;
        }
        let limit = self.wiring.stop_wait(self.role);
        match process.stop(limit).await {
            Some(status) => self.say(&format!("{} stopped ({status})", self.name)),
            None => self.say(&format!("{} did not stop within {limit:?}: killed", self.name)),
        }
    }

    /// SIGKILL, and waits for the exit.
    pub async fn kill(&mut self) {
        self.stop(true).await;
    }

    /// Stops (or kills) the process, starts it again on the same ports and waits until it is
    /// ready: the new pid and the time from the stop to ready.
    pub async fn restart(&mut self, kill: bool, limit: Duration) -> Result<(u32, Duration), StartError> {
        let started = Instant::now();
        self.stop(kill).await;
        let pid = self.start().map_err(StartError::Spawn)?;
        self.wait_ready(limit).await.map_err(StartError::NotReady)?;
        Ok((pid, started.elapsed()))
    }

    /// Sends a signal (libc number, e.g. `libc::SIGTERM`) to the process, if it runs.
    pub fn signal(&self, signal: i32) {
        if let Some(process) = &self.process {
            process.signal(signal);
        }
    }

    /// The exit status, once the process has exited (it stays recorded as the last process).
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.process.as_mut().and_then(ServerProcess::try_wait)
    }

    /// Looks at the process: whether it exited (then it is forgotten) or its readiness changed.
    pub async fn poll(&mut self) -> Option<Change> {
        let process = self.process.as_mut()?;
        if let Some(status) = process.try_wait() {
            self.process = None;
            self.ready = Some(false);
            return Some(Change::Exited(status));
        }
        let (ready, body) = process.readiness().await;
        if self.ready == Some(ready) {
            return None;
        }
        self.ready = Some(ready);
        if ready {
            return Some(Change::Ready);
        }
        let failing = body.lines().find(|l| l.starts_with("[-]")).unwrap_or("");
        Some(Change::NotReady(failing.to_owned()))
    }

    fn say(&self, what: &str) {
        (self.report)(what);
    }
}

//! Which executables run the servers of a [`crate::Stack`]: the binaries that ship
//! (`connection-server`, `game-server`, what the images hold) or the `mush` command's subcommands
//! of the same names.

use std::path::{Path, PathBuf};

/// The two servers a stack runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKind {
    ConnectionServer,
    GameServer,
}

impl ServerKind {
    /// The name of the shipped binary, and of the `mush` subcommand.
    pub fn binary_name(self) -> &'static str {
        match self {
            ServerKind::ConnectionServer => "connection-server",
            ServerKind::GameServer => "game-server",
        }
    }
}

/// Where the servers' executables are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binaries {
    /// The binaries that ship: `<dir>/connection-server` and `<dir>/game-server` (built by the
    /// packages mush-connection-server and mush-game-server; the images hold these).
    Shipped { dir: PathBuf },
    /// The `mush` command at this path, run as `mush connection-server …` / `mush game-server …`.
    Mush(PathBuf),
}

impl Binaries {
    /// The shipped binaries in `dir`, if both are there.
    pub fn shipped_in(dir: &Path) -> Option<Binaries> {
        let shipped = Binaries::Shipped { dir: dir.to_owned() };
        shipped.missing().is_empty().then_some(shipped)
    }

    /// The shipped binaries when they sit next to the executable `exe`, else `exe`'s own
    /// subcommands (what `mush up` runs: `cargo run -p mush-cli -- up` builds `mush` alone).
    pub fn beside(exe: &Path) -> Binaries {
        exe.parent()
            .and_then(Binaries::shipped_in)
            .unwrap_or_else(|| Binaries::Mush(exe.to_owned()))
    }

    /// The program to run for `kind`, and the arguments that come before its flags.
    pub fn command(&self, kind: ServerKind) -> (PathBuf, Vec<String>) {
        match self {
            Binaries::Shipped { dir } => (dir.join(kind.binary_name()), vec![]),
            Binaries::Mush(mush) => (mush.clone(), vec![kind.binary_name().to_owned()]),
        }
    }

    /// Executables this choice names that do not exist.
    pub fn missing(&self) -> Vec<PathBuf> {
        [ServerKind::ConnectionServer, ServerKind::GameServer]
            .into_iter()
            .map(|kind| self.command(kind).0)
            .filter(|program| !program.is_file())
            .collect()
    }

    /// Shipped binaries built before `exe` was: they may lack a change `exe` has (cargo builds
    /// only the package asked for: `cargo run -p mush-cli` leaves them as they were).
    pub fn older_than(&self, exe: &Path) -> Vec<PathBuf> {
        let Binaries::Shipped { .. } = self else {
            return vec![];
        };
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let Some(reference) = modified(exe) else {
            return vec![];
        };
        [ServerKind::ConnectionServer, ServerKind::GameServer]
            .into_iter()
            .map(|kind| self.command(kind).0)
            .filter(|program| modified(program).is_some_and(|t| t < reference))
            .collect()
    }

    /// One line saying what runs the servers.
    pub fn describe(&self) -> String {
        match self {
            Binaries::Shipped { dir } => format!(
                "the shipped binaries {0}/connection-server and {0}/game-server",
                dir.display()
            ),
            Binaries::Mush(mush) => format!(
                "`{0} connection-server` and `{0} game-server` (no shipped binaries beside it)",
                mush.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_binaries_run_without_a_subcommand_and_mush_with_one() {
        let shipped = Binaries::Shipped {
            dir: "/opt/mush".into(),
        };
        assert_eq!(
            shipped.command(ServerKind::GameServer),
            (PathBuf::from("/opt/mush/game-server"), vec![])
        );
        let mush = Binaries::Mush("/bin/mush".into());
        assert_eq!(
            mush.command(ServerKind::ConnectionServer),
            (PathBuf::from("/bin/mush"), vec!["connection-server".to_owned()])
        );
    }

    #[test]
    fn beside_falls_back_to_the_subcommands_when_the_shipped_binaries_are_missing() {
        let dir = tempfile::tempdir().unwrap();
        let mush = dir.path().join("mush");
        assert_eq!(Binaries::beside(&mush), Binaries::Mush(mush.clone()));
        for name in ["connection-server", "game-server"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        assert_eq!(
            Binaries::beside(&mush),
            Binaries::Shipped {
                dir: dir.path().to_owned()
            }
        );
    }

    #[test]
    fn shipped_binaries_built_before_the_reference_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("mush");
        std::fs::write(&exe, b"").unwrap();
        for name in ["connection-server", "game-server"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let shipped = Binaries::shipped_in(dir.path()).unwrap();
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        let server = std::fs::File::options()
            .write(true)
            .open(dir.path().join("game-server"))
            .unwrap();
        server.set_modified(past).unwrap();
        assert_eq!(shipped.older_than(&exe), [dir.path().join("game-server")]);
        assert!(Binaries::Mush(exe.clone()).older_than(&exe).is_empty());
    }
}

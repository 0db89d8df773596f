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

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The files a Makefile-style dep-info file (`target: dep dep ...`, spaces in names escaped
/// with a backslash) says its first target depends on.
fn dep_info_sources(text: &str) -> Vec<PathBuf> {
    let Some((_, deps)) = text.lines().next().and_then(|l| l.split_once(": ")) else {
        return vec![];
    };
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = deps.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.extend(chars.next()),
            ' ' => {
                if !current.is_empty() {
                    out.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(PathBuf::from(current));
    }
    out
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

    /// Shipped binaries older than a source file they are built from, each with the newest such
    /// file: they lack a change (cargo builds only the packages asked for: `cargo run -p
    /// mush-cli` or one e2e test leaves them as they were). The sources are the ones cargo lists
    /// in the binary's dep-info file (`<binary>.d`, beside it); a binary without one (installed,
    /// copied) is taken as it is.
    pub fn stale(&self) -> Vec<(PathBuf, PathBuf)> {
        let Binaries::Shipped { .. } = self else {
            return vec![];
        };
        [ServerKind::ConnectionServer, ServerKind::GameServer]
            .into_iter()
            .filter_map(|kind| {
                let program = self.command(kind).0;
                let built = modified(&program)?;
                let dep_info = std::fs::read_to_string(program.with_extension("d")).ok()?;
                let (changed, source) = dep_info_sources(&dep_info)
                    .into_iter()
                    .filter_map(|source| Some((modified(&source)?, source)))
                    .max_by_key(|(changed, _)| *changed)?;
                (changed > built).then_some((program, source))
            })
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
    fn dep_info_lists_the_sources_with_escaped_spaces() {
        let text =
            "/t/debug/game-server: /w/game-server/src/main.rs /w/my\\ dir/lib.rs  /w/x.rs\n\n/w/x.rs:\n";
        assert_eq!(
            dep_info_sources(text),
            [
                PathBuf::from("/w/game-server/src/main.rs"),
                PathBuf::from("/w/my dir/lib.rs"),
                PathBuf::from("/w/x.rs")
            ]
        );
        assert!(dep_info_sources("").is_empty());
    }

    #[test]
    fn a_shipped_binary_older_than_a_source_it_is_built_from_is_named_with_that_source() {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("target");
        std::fs::create_dir_all(&bin).unwrap();
        let write = |path: PathBuf, seconds_ago: u64| {
            std::fs::write(&path, b"").unwrap();
            let file = std::fs::File::options().write(true).open(&path).unwrap();
            file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(seconds_ago))
                .unwrap();
            path
        };
        let shared = write(root.path().join("shared.rs"), 600);
        let gateway = write(root.path().join("gateway.rs"), 600);
        let game = write(root.path().join("game.rs"), 600);
        let test_only = write(root.path().join("tests.rs"), 600);
        for (name, own) in [("connection-server", &gateway), ("game-server", &game)] {
            let deps = format!(
                "{}: {} {}\n",
                bin.join(name).display(),
                shared.display(),
                own.display()
            );
            std::fs::write(bin.join(name).with_extension("d"), deps).unwrap();
            write(bin.join(name), 300);
        }
        let shipped = Binaries::shipped_in(&bin).unwrap();
        assert!(shipped.stale().is_empty(), "built after every source");
        write(test_only.clone(), 10);
        assert!(
            shipped.stale().is_empty(),
            "a file the binaries are not built from"
        );
        write(gateway.clone(), 10);
        assert_eq!(
            shipped.stale(),
            [(bin.join("connection-server"), gateway.clone())]
        );
        write(shared.clone(), 5);
        assert_eq!(
            shipped.stale().len(),
            2,
            "a shared source changed: both are stale"
        );
        write(bin.join("connection-server"), 0);
        write(bin.join("game-server"), 0);
        assert!(shipped.stale().is_empty(), "built again");
        std::fs::remove_file(bin.join("game-server.d")).unwrap();
        write(game, 0);
        assert!(shipped.stale().is_empty(), "no dep-info: taken as it is");
        let mush = bin.join("mush");
        std::fs::write(&mush, b"").unwrap();
        assert!(Binaries::Mush(mush).stale().is_empty());
    }
}

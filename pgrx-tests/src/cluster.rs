//! A private PostgreSQL 15 cluster with hubsync preloaded, driven over a real client
//! connection.
//!
//! The extension must be installed into the server's directories first (`make test` runs
//! `cargo pgrx install`); `HUBSYNC_PG_CONFIG` picks another installation. As root, the
//! cluster runs as the `postgres` OS user via sudo, because `initdb` refuses root.

use postgres::{Client, NoTls};
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The database the e2e clusters serve; the brief's connection config names it.
pub const DATABASE: &str = "customer_data";

/// A private PostgreSQL cluster, removed when dropped.
pub struct Cluster {
    dir: PathBuf,
    port: u16,
    bindir: PathBuf,
}

impl Cluster {
    /// initdb + start a cluster with hubsync preloaded and `extra` settings, then create
    /// the `customer_data` database with the extension.
    pub fn start(name: &str, extra: &[(&str, &str)]) -> Cluster {
        let cluster = Cluster::init(name, extra);
        let mut admin = cluster.connect("postgres");
        admin
            .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
            .expect("create database");
        cluster
            .client()
            .batch_execute("CREATE EXTENSION hubsync")
            .expect("create extension");
        cluster
    }

    /// initdb + start a cluster with hubsync preloaded and `extra` settings, its worker
    /// serving `customer_data`, which does not exist yet: for tests that create that
    /// database themselves (an older extension version, a restore).
    pub fn init(name: &str, extra: &[(&str, &str)]) -> Cluster {
        let dir = std::env::temp_dir().join(format!("hubsync-e2e-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create cluster directory");
        let cluster = Cluster {
            port: free_port(),
            bindir: bindir(),
            dir,
        };
        cluster.give_to_server_user(&cluster.dir);
        cluster.run_pg(
            "initdb",
            &[
                "-D",
                &cluster.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        let mut conf = vec![
            ("port", cluster.port.to_string()),
            ("listen_addresses", "'127.0.0.1'".to_string()),
            (
                "unix_socket_directories",
                format!("'{}'", cluster.dir.display()),
            ),
            ("shared_preload_libraries", "'hubsync'".to_string()),
            ("hubsync.database", format!("'{DATABASE}'")),
            ("hubsync.sweep_interval", "'100ms'".to_string()),
            ("max_worker_processes", "16".to_string()),
            // 'log' would hide ERRORs: for the server log, LOG ranks above ERROR.
            ("log_min_messages", "'warning'".to_string()),
        ];
        conf.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        let text: String = conf.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
        cluster.append_conf(&text);
        cluster.pg_ctl(&["start", "-w", "-t", "60"]);
        cluster
    }

    /// A new connection to `customer_data` as the superuser `postgres`.
    pub fn client(&self) -> Client {
        self.connect(DATABASE)
    }

    /// A new connection to `database` as `postgres`.
    pub fn connect(&self, database: &str) -> Client {
        self.connect_as(database, "postgres")
    }

    /// A new connection to `database` as `user` (trust authentication).
    pub fn connect_as(&self, database: &str, user: &str) -> Client {
        self.config_as(database, user)
            .connect(NoTls)
            .unwrap_or_else(|e| panic!("connect to {database} as {user}: {e}\n{}", self.log_tail()))
    }

    /// Connection settings for `database` as `user`, for tests that need more than
    /// [`Cluster::connect_as`] gives, such as a notice callback.
    pub fn config_as(&self, database: &str, user: &str) -> postgres::Config {
        let mut config = postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user(user)
            .dbname(database);
        config
    }

    /// A client program of the server's installation (`pg_dump`, `pg_restore`, `psql`, ...)
    /// with the connection options for this cluster as the superuser `postgres` already
    /// given, so tests run the real tools against it.
    pub fn client_program(&self, program: &str) -> Command {
        let mut command = Command::new(self.bindir.join(program));
        command.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
        ]);
        command
    }

    /// Appends settings to postgresql.conf (takes effect on reload or restart).
    pub fn append_conf(&self, text: &str) {
        let path = Path::new(&self.data()).join("postgresql.conf");
        let mut conf = fs::read_to_string(&path).expect("read postgresql.conf");
        conf.push_str(text);
        fs::write(&path, conf).expect("write postgresql.conf");
    }

    /// SIGHUP: re-read the configuration.
    pub fn reload(&self) {
        self.pg_ctl(&["reload"]);
    }

    /// Stops the server the hard way (`-m immediate`: no checkpoint, like a crash) and starts it again.
    pub fn crash_and_restart(&self) {
        self.pg_ctl(&["stop", "-m", "immediate", "-w"]);
        self.pg_ctl(&["start", "-w", "-t", "60"]);
    }

    /// The server log's last lines, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// The whole server log.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn pg_ctl(&self, args: &[&str]) {
        let log = self.dir.join("server.log").display().to_string();
        let data = self.data();
        let mut all = vec!["-D", &data, "-l", &log];
        all.extend_from_slice(args);
        let out = self.run_pg("pg_ctl", &all);
        assert!(
            out.status.success(),
            "pg_ctl {args:?} failed\n{}",
            self.log_tail()
        );
    }

    /// A command running a server program, as the `postgres` OS user when we are root.
    fn pg_command(&self, program: &str) -> Command {
        let binary = self.bindir.join(program);
        if running_as_root() {
            let mut c = Command::new("sudo");
            c.args(["-u", "postgres", "--"]).arg(&binary);
            c
        } else {
            Command::new(&binary)
        }
    }

    fn run_pg(&self, program: &str, args: &[&str]) -> Output {
        let out = self
            .pg_command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn give_to_server_user(&self, dir: &Path) {
        if running_as_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(ok, "chown {} to postgres", dir.display());
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .pg_command("pg_ctl")
            .args(["-D", &self.data(), "stop", "-m", "immediate", "-w"])
            .output();
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn bindir() -> PathBuf {
    let pg_config = std::env::var("HUBSYNC_PG_CONFIG")
        .unwrap_or_else(|_| "/usr/lib/postgresql/15/bin/pg_config".into());
    let out = Command::new(&pg_config)
        .arg("--bindir")
        .output()
        .unwrap_or_else(|e| panic!("run {pg_config}: {e}"));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// A TCP port nobody listens on now, for a server a test starts.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free port")
}

//! moto in server mode: the real S3, SQS, SNS, SSM and DynamoDB APIs on a loopback port.
//!
//! Each [`MotoServer`] is its own process (tests do not share state). It dies:
//! - when the `MotoServer` is dropped, including while a panicking test unwinds;
//! - when the test process dies any other way (SIGKILL, Ctrl-C, a harness timeout), through
//!   `PR_SET_PDEATHSIG`. That signal fires when the *thread* that forked the child exits, so every
//!   server is forked by one spawner thread that lives as long as the process.

// prctl/getppid/_exit between fork and exec: a server dies with the test process.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::NeedsSetup;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// The region every client of a test server uses.
pub const REGION: &str = "us-east-1";

/// A running moto server, killed on drop.
pub struct MotoServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl MotoServer {
    /// Starts moto on a free loopback port and waits until it answers.
    ///
    /// Without moto installed, a [`NeedsSetup`] error naming `make setup` (the test returns it
    /// and fails with that one line). Panics when moto is installed but does not start; the
    /// message includes moto's own output.
    pub fn start() -> Result<MotoServer, NeedsSetup> {
        let python = Self::python();
        NeedsSetup::check("moto", &python)?;
        // The port is free when we look; another process could take it before moto binds, so a
        // server that exits at once is retried on a new port.
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log = std::env::temp_dir().join(format!("fleetwatch-moto-{port}.log"));
            let mut command = Command::new(&python);
            command
                .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
                .arg(port.to_string())
                .stdin(Stdio::null())
                .stdout(log_file(&log))
                // werkzeug logs every request: an unread pipe would fill up and stall moto.
                .stderr(log_file(&log));
            let child = spawn_tied_to_process(command).expect("spawning moto");
            let mut server = MotoServer { child, port, log };
            match server.wait_until_ready() {
                Ok(()) => return Ok(server),
                Err(error) => last_error = error,
            }
        }
        panic!("moto did not start: {last_error}");
    }

    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let address = SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("moto exited with {status}: {}", self.output()));
            }
            if TcpStream::connect_timeout(&address.into(), Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "no answer on port {} within {STARTUP_TIMEOUT:?}: {}",
            self.port,
            self.output()
        ))
    }

    /// What moto printed so far (its request log and any traceback).
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment a function process needs to talk to this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_REGION", REGION.into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_MAX_ATTEMPTS", "1".into()),
            // moto answers a service's first call slowly on a busy machine.
            ("FLEETWATCH_AWS_CALL_TIMEOUT", "60".into()),
        ]
    }
}

impl MotoServer {
    /// `.venv/bin/python` at the workspace root (where `make setup` installs moto), unless
    /// `FLEETWATCH_PYTHON` names another interpreter.
    pub fn python() -> PathBuf {
        if let Some(python) = std::env::var_os("FLEETWATCH_PYTHON") {
            return python.into();
        }
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python")
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding a loopback port")
}

fn log_file(path: &PathBuf) -> Stdio {
    File::options()
        .create(true)
        .append(true)
        .open(path)
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::null())
}

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns `command` from the process-lifetime spawner thread with `PR_SET_PDEATHSIG = SIGKILL`.
fn spawn_tied_to_process(command: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<mpsc::Sender<SpawnRequest>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("moto-spawner".into())
            .spawn(move || {
                for (mut command, reply) in rx {
                    let _ = reply.send(spawn_with_death_signal(&mut command));
                }
            })
            .expect("starting the moto spawner thread");
        tx
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    spawner
        .send((command, reply_tx))
        .expect("the spawner thread lives as long as the process");
    reply_rx
        .recv()
        .expect("the spawner thread answers every request")
}

fn spawn_with_death_signal(command: &mut Command) -> io::Result<Child> {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec and only makes async-signal-safe
    // system calls (prctl, getppid, _exit).
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl: then nobody would signal us.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    command.spawn()
}

//! `cargo lambda watch`: the Lambda runtime API emulator. It serves the runtime API to a
//! function process the test starts (the real `lambda_runtime` client loop, the environment Lambda
//! sets) and takes invocations (`cargo lambda invoke`). Started from the project's `.venv`;
//! killed with its whole process group on drop. Functions reach its runtime API through
//! [`crate::runtime_proxy`], which gives each invocation a real deadline (the emulator sends a
//! duration).

// prctl/getppid/_exit between fork and exec, kill of the process group on drop.
#![allow(unsafe_code)]

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::NeedsSetup;
use crate::slack::harness::ServerThread;

pub struct LambdaWatch {
    child: Child,
    port: u16,
    log: PathBuf,
    /// The runtime API as functions reach it.
    runtime: ServerThread,
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cargo_lambda() -> PathBuf {
    workspace_root().join(".venv/bin/cargo-lambda")
}

impl LambdaWatch {
    /// Starts the emulator's runtime and invoke APIs only (`--only-lambda-apis`): the test
    /// runs the function process itself (see [`LambdaWatch::function_env`]), so cargo-lambda
    /// compiles nothing. Returns when it accepts invocations. Without cargo-lambda installed, a
    /// [`NeedsSetup`] error naming `make setup`.
    pub fn start() -> Result<LambdaWatch, NeedsSetup> {
        let binary = cargo_lambda();
        NeedsSetup::check("cargo-lambda", &binary)?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let log = std::env::temp_dir().join(format!("fleetwatch-lambda-watch-{port}.log"));
        let file = std::fs::File::create(&log).expect("creating the watch log");
        let mut command = Command::new(&binary);
        command
            .args([
                "lambda",
                "watch",
                "--ignore-changes",
                "--only-lambda-apis",
                "--invoke-address",
                "127.0.0.1",
            ])
            .args(["--invoke-port", &port.to_string()])
            .current_dir(workspace_root())
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            // Its own process group, so dropping it also ends what it started.
            .process_group(0);
        tie_to_this_process(&mut command);
        let child = command.spawn().expect("spawning cargo lambda watch");
        let runtime = crate::runtime_proxy::start(&format!("http://127.0.0.1:{port}"))
            .expect("starting the runtime API proxy");
        let mut watch = LambdaWatch {
            child,
            port,
            log,
            runtime,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        let address = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = watch.child.try_wait() {
                panic!(
                    "cargo lambda watch exited with {status}: {}",
                    watch.output()
                );
            }
            if TcpStream::connect_timeout(&address.into(), Duration::from_millis(200)).is_ok() {
                return Ok(watch);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("cargo lambda watch did not listen: {}", watch.output());
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The environment a function process needs to serve invocations of `function` from this
    /// emulator, as Lambda sets it.
    pub fn function_env(&self, function: &str) -> Vec<(String, String)> {
        [
            (
                "AWS_LAMBDA_RUNTIME_API",
                format!("{}/.rt/{function}", self.runtime.base_url()),
            ),
            ("AWS_LAMBDA_FUNCTION_NAME", function.to_string()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "1".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024".into()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function}"),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "test".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// `cargo lambda invoke <function> --data-file ...`: the function's JSON answer, or its error
    /// output when the handler returned an error.
    pub fn invoke(
        &self,
        function: &str,
        event: &serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let data = tempfile_path(&format!("fleetwatch-event-{}.json", self.port));
        std::fs::write(&data, event.to_string()).expect("writing the event file");
        // Files, not pipes: a long answer cannot block the process while it is polled.
        let stdout = tempfile::tempfile().expect("a file for the answer");
        let stderr = tempfile::tempfile().expect("a file for the errors");
        let invocation = Command::new(cargo_lambda())
            .args([
                "lambda",
                "invoke",
                function,
                "--invoke-address",
                "127.0.0.1",
            ])
            .args([
                "--invoke-port",
                &self.port.to_string(),
                "--output-format",
                "json",
            ])
            .arg("--data-file")
            .arg(&data)
            .current_dir(workspace_root())
            .stdout(stdout.try_clone().expect("the answer file"))
            .stderr(stderr.try_clone().expect("the errors file"))
            .spawn()
            .expect("running cargo lambda invoke");
        let status = exit_within(invocation, INVOKE_LIMIT);
        let _ = std::fs::remove_file(&data);
        let Some(status) = status else {
            return Err(format!(
                "no answer within {INVOKE_LIMIT:?}: is the {function} process serving the runtime API?"
            ));
        };
        let (answer, errors) = (read_all(stdout), read_all(stderr));
        if !status.success() {
            return Err(format!("{answer}{errors}"));
        }
        serde_json::from_str(&answer).map_err(|e| format!("{e}: {answer}"))
    }
}

/// How long an invocation may take before the test fails instead of hanging: far above any
/// function's work here, far below CI's budget.
const INVOKE_LIMIT: Duration = Duration::from_secs(120);

/// `child`'s exit status, or `None` (and the child killed) after `limit`. Polls: the standard
/// library has no wait with a timeout.
fn exit_within(mut child: Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// What a process wrote to `file` (from its start).
fn read_all(mut file: std::fs::File) -> String {
    use std::io::{Read, Seek};
    let mut bytes = Vec::new();
    file.rewind().expect("rewinding an output file");
    file.read_to_end(&mut bytes)
        .expect("reading an output file");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Makes `command`'s process die with this one (`PR_SET_PDEATHSIG`): no process of a test
/// outlives it, even when it is killed.
pub fn tie_to_this_process(command: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: async-signal-safe calls only, in the child between fork and exec.
    unsafe {
        command.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

fn tempfile_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(name)
}

impl Drop for LambdaWatch {
    fn drop(&mut self) {
        // The whole group: the emulator and the function processes it started.
        let group = self.child.id() as libc::pid_t;
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

//! No moto server outlives its test: not after a panic, not after the test process is killed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleetwatch_test_support::moto::MotoServer;

use crate::support::TestResult;

/// Whether `pid` is a live process (a zombie waiting to be reaped counts as dead).
fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the field after the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Waits (bounded) for `pid` to die: a SIGKILL is delivered asynchronously.
fn dies_within(pid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if !is_alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    !is_alive(pid)
}

#[test]
fn dropping_the_server_kills_it() -> TestResult {
    let moto = MotoServer::start()?;
    let pid = moto.pid();
    assert!(is_alive(pid));
    drop(moto);
    assert!(!is_alive(pid), "moto {pid} survived its drop");
    Ok(())
}

#[test]
fn a_panicking_test_still_kills_its_server() -> TestResult {
    fleetwatch_test_support::NeedsSetup::check("moto", &MotoServer::python())?;
    let pid = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&pid);
    let outcome = std::panic::catch_unwind(move || {
        let moto = MotoServer::start().expect("moto is installed");
        *seen.lock().unwrap() = Some(moto.pid());
        panic!("the test body fails while moto runs");
    });
    assert!(outcome.is_err());
    let pid = pid.lock().unwrap().expect("moto started before the panic");
    assert!(!is_alive(pid), "moto {pid} survived a panicking test");
    Ok(())
}

/// Not a test of its own: the body of the child process that the next test kills.
#[test]
#[ignore = "run as a child process by a_killed_test_process_takes_its_server_along"]
fn hold_a_server_until_killed() {
    let moto = MotoServer::start().expect("moto is installed");
    println!("MOTO_PID={}", moto.pid());
    // Bounded: if nobody kills us, drop the server and end.
    std::thread::sleep(Duration::from_secs(120));
}

#[test]
fn a_killed_test_process_takes_its_server_along() -> TestResult {
    fleetwatch_test_support::NeedsSetup::check("moto", &MotoServer::python())?;
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "moto_lifecycle::hold_a_server_until_killed",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let pid: u32 = stdout
        .lines()
        .map_while(Result::ok)
        // libtest prints the test's name on the same line first.
        .find_map(|line| {
            let (_, pid) = line.split_once("MOTO_PID=")?;
            pid.trim().parse().ok()
        })
        .expect("the child reports its moto pid");
    assert!(is_alive(pid));

    // SIGKILL: no destructor, no unwinding, no cleanup code runs in the child.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        dies_within(pid, Duration::from_secs(10)),
        "moto {pid} outlived its killed test process"
    );
    Ok(())
}

//! The harness never leaks a control plane: the process exits (and deletes its state directory)
//! as soon as its parent's end of the stdin pipe closes — which the kernel does when the parent
//! exits, panics or is killed.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use incluster_tests::controlplane::built_binary;

#[test]
fn the_control_plane_exits_when_its_parent_goes_away() {
    let dir = std::env::temp_dir().join(format!("incluster-lifecycle-{}", std::process::id()));
    let mut child = Command::new(built_binary("controlplane"))
        .arg("--dir")
        .arg(&dir)
        .arg("--remove-on-exit")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the control plane");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dir.join("cluster.json").exists() {
        assert!(Instant::now() < deadline, "cluster.json never appeared");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(child.stdin.take()); // what the kernel does for a parent that dies

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "the control plane exited with {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the control plane was still running 30 s after its stdin closed");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !dir.exists(),
        "the state directory {} was left behind",
        dir.display()
    );
}

#!/usr/bin/env python3
"""Runs README.md's ```sh, ```bash and ```python blocks, in order, as printed.

Usage: scripts/readme_check.py PATH/TO/sealgate [--readme README.md] [--timeout 120] [--keep]

The blocks run in a fresh temp directory holding a copy of the repository's tracked files (what a fresh
clone has: examples/, scripts/, docs/ ...), the way a reader on a fresh machine runs them from the checkout.
The only substitutions are these, and they change no block's text:

  * `swift` on PATH is a shim: `swift build` does nothing (PATH/TO/sealgate was built from this tree),
    `swift run sealgate ARGS` runs PATH/TO/sealgate ARGS, and `swift test` does nothing (.ci/run runs the
    test suite in its own step). Any other `swift` command fails the block.
  * `sealgate` on PATH and `.build/debug/sealgate` in the directory are PATH/TO/sealgate.
  * A line that starts a server (`sealgate serve` or `sealgate broker`, however the binary is named) runs in the
    background (as if it ended with `&`), and the checker then waits up to 60 s for it: `/readyz` for
    `serve` (it must attest and hold a key lease), `/healthz` for `broker`, on its `--port` (default 8080
    for serve, 8081 for broker); a `serve --attested-tls` over HTTPS, trusting `<--data-dir>/ca.pem`. Servers live until the end of the run, then get SIGTERM.

Each block runs in its own process in the same directory: shell blocks with `bash -e -o pipefail`, python
blocks with python3; variables do not carry over between blocks. A block fails on a non-zero exit or when it
runs longer than --timeout seconds; the check then stops. A block preceded by
`<!-- readme-check: skip (reason) -->` is not run (the reason is printed). Other fences (```json, ```text,
unlabelled) are not run.

When `unshare -n` works, the whole check runs in a private network namespace with its own loopback, so the
README's fixed ports (8080, 8081, 8090) cannot collide with anything else on the machine; otherwise it
first checks that those ports are free. Output of the blocks is printed; API keys in it are masked.
Prints 'readme check: N passed, N failed' last (skipped blocks are counted on the line before) and exits 1
on any failure.
"""
import argparse
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)\s*$")
SKIP = re.compile(r"^<!--\s*readme-check:\s*skip\s*\((.+)\)\s*-->\s*$")
RUNNABLE = {"sh": "sh", "bash": "sh", "shell": "sh", "python": "python", "py": "python", "python3": "python"}
# A command that starts a server: `swift run sealgate serve`, `sealgate broker`, `$B serve`, `.build/debug/sealgate serve`.
SERVER = re.compile(r"^\s*(?:swift\s+run\s+sealgate|\S*sealgate|\$\{?[A-Za-z_]\w*\}?)\s+(serve|broker)\b")
KEY_PATTERN = re.compile(r"\b(sg_[A-Za-z0-9_-]{8,}|sgk_[A-Za-z0-9_-]{8,}|sga_[A-Za-z0-9_-]{8,})")
FIXED_PORTS = (8080, 8081, 8090, 8443)


def blocks(readme):
    """(line number, language, code, skip reason) for every fenced block."""
    lines = open(readme, encoding="utf-8").read().splitlines()
    out, i, pending_skip = [], 0, None
    while i < len(lines):
        skip = SKIP.match(lines[i])
        if skip:
            pending_skip = skip.group(1)
            i += 1
            continue
        fence = FENCE.match(lines[i])
        if fence:
            start, lang, body = i + 1, fence.group(1).lower(), []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            out.append((start, lang, "\n".join(body) + "\n", pending_skip))
            pending_skip = None
        elif lines[i].strip():
            pending_skip = None  # a skip marker applies to the block right after it only
        i += 1
    return out


def server_lines(code):
    """Rewrites server lines to run in the background and wait for them; returns the new code."""
    out = []
    for line in code.splitlines():
        match = SERVER.match(line)
        if not match:
            out.append(line)
            continue
        kind = match.group(1)
        command = line.split(" #", 1)[0].rstrip()
        if command.endswith("&"):
            command = command[:-1].rstrip()
        try:
            words = shlex.split(command)
        except ValueError:
            words = command.split()
        port = {"serve": "8080", "broker": "8081"}[kind]
        data_dir = ".sealgate"
        for j, word in enumerate(words):
            if word == "--port" and j + 1 < len(words):
                port = words[j + 1]
            elif word.startswith("--port="):
                port = word.split("=", 1)[1]
            elif word == "--data-dir" and j + 1 < len(words):
                data_dir = words[j + 1]
        path = "/readyz" if kind == "serve" else "/healthz"
        out.append(f"{command} >>\"$README_CHECK_LOGS/{kind}-{port}.log\" 2>&1 &")
        if kind == "serve" and "--attested-tls" in words:
            # Attested TLS: HTTPS only, trusting the CA bundle the gateway writes to <data-dir>/ca.pem.
            out.append(f"readme_check_wait {kind} {port} {path} $! {shlex.quote(data_dir + '/ca.pem')}")
        else:
            out.append(f"readme_check_wait {kind} {port} {path} $!")
    return "\n".join(out) + "\n"


SH_PRELUDE = r"""
readme_check_wait() {  # KIND PORT PATH PID [CA]: wait up to 60 s for http://127.0.0.1:PORT/PATH (https with CA) while PID lives
  for _ in $(seq 1 300); do
    if [ -n "${5:-}" ]; then
      if [ -s "$5" ] && curl -fsS -o /dev/null --cacert "$5" "https://127.0.0.1:$2$3" 2>/dev/null; then return 0; fi
    elif curl -fsS -o /dev/null "http://127.0.0.1:$2$3" 2>/dev/null; then return 0; fi
    kill -0 "$4" 2>/dev/null || break
    sleep 0.2
  done
  echo "readme check: $1 on port $2 did not answer $3" >&2
  tail -n 30 "$README_CHECK_LOGS/$1-$2.log" >&2
  return 1
}
"""

SWIFT_SHIM = """#!/usr/bin/env bash
# readme_check.py: `swift` for README blocks (see scripts/readme_check.py).
case "$1" in
  build) exit 0 ;;
  test) echo "(readme check: 'swift test' is run by .ci/run in its own step)"; exit 0 ;;
  run)
    shift
    [ "${1:-}" = sealgate ] || { echo "readme check: swift run $1 is not supported" >&2; exit 2; }
    shift
    exec sealgate "$@" ;;
  *) echo "readme check: swift $* is not supported" >&2; exit 2 ;;
esac
"""


def mask(text):
    return KEY_PATTERN.sub(lambda m: m.group(1)[:4] + "…", text)


def tracked_files():
    listed = subprocess.run(["git", "-C", REPO, "ls-files", "-z"], capture_output=True, check=True).stdout
    return [p for p in listed.decode().split("\0") if p]


def reexec_in_netns():
    """Re-runs this script in a private network namespace when possible; returns only if it did not."""
    if os.environ.get("README_CHECK_NETNS") or not shutil.which("unshare") or not shutil.which("ip"):
        return
    inner = "ip link set lo up && exec " + " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv)
    for flags in (["-n"], ["-r", "-n"]):  # as root; else in a user namespace of its own
        probe = subprocess.run(["unshare", *flags, "sh", "-c", "ip link set lo up"], capture_output=True)
        if probe.returncode == 0:
            env = dict(os.environ, README_CHECK_NETNS="1")
            sys.stdout.flush()
            os.execvpe("unshare", ["unshare", *flags, "sh", "-c", inner], env)


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--readme", default=os.path.join(REPO, "README.md"))
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per block")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print(f"readme check: {binary} is not an executable", file=sys.stderr)
        return 2
    reexec_in_netns()
    if not os.environ.get("README_CHECK_NETNS"):
        busy = [p for p in FIXED_PORTS if not port_free(p)]
        if busy:
            print(f"readme check: ports {busy} are in use and no private network namespace is available", file=sys.stderr)
            return 1

    work = tempfile.mkdtemp(prefix="readme-check-")
    groups = []  # process groups of the blocks (their background servers stay in them)
    passed = failed = skipped = 0
    try:
        for rel in tracked_files():
            src, dst = os.path.join(REPO, rel), os.path.join(work, rel)
            if os.path.isfile(src):
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copy2(src, dst)
        bindir = os.path.join(work, ".readme-check-bin")
        logs = os.path.join(work, ".readme-check-logs")
        os.makedirs(bindir)
        os.makedirs(logs)
        os.makedirs(os.path.join(work, ".build", "debug"))
        os.symlink(binary, os.path.join(work, ".build", "debug", "sealgate"))
        os.symlink(binary, os.path.join(bindir, "sealgate"))
        with open(os.path.join(bindir, "swift"), "w") as shim:
            shim.write(SWIFT_SHIM)
        os.chmod(os.path.join(bindir, "swift"), 0o755)
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""), README_CHECK_LOGS=logs)
        env.pop("SEALGATE_API_KEY", None)
        env.pop("SEALGATE_ADMIN_TOKEN", None)

        for line, lang, code, skip in blocks(args.readme):
            kind = RUNNABLE.get(lang)
            if kind is None:
                continue
            name = f"{os.path.basename(args.readme)}:{line} ({lang})"
            if skip:
                skipped += 1
                print(f"skip {name}: {skip}")
                continue
            if kind == "sh":
                command = ["bash", "-e", "-o", "pipefail", "-c", SH_PRELUDE + server_lines(code)]
            else:
                command = [sys.executable, "-c", code]
            print(f"---- {name}")
            started = time.monotonic()
            proc = subprocess.Popen(
                command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
            groups.append(proc.pid)
            try:
                output, _ = proc.communicate(timeout=args.timeout)
                status = proc.returncode
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                output, _ = proc.communicate()
                status = f"timeout after {args.timeout:.0f} s"
            text = mask(output.decode(errors="replace"))
            if text.strip():
                print(text.rstrip())
            elapsed = time.monotonic() - started
            if status == 0:
                passed += 1
                print(f"ok   {name} ({elapsed:.1f} s)")
            else:
                failed += 1
                print(f"FAIL {name}: exit {status} ({elapsed:.1f} s)")
                for log in sorted(os.listdir(logs)):
                    print(f"---- {log} (last lines)")
                    with open(os.path.join(logs, log), errors="replace") as f:
                        print(mask("".join(f.readlines()[-20:])).rstrip())
                break
    finally:
        for pgid in groups:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        for pgid in groups:
            while time.monotonic() < deadline:
                try:
                    os.killpg(pgid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if args.keep:
            print(f"readme check: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"readme check: {skipped} blocks skipped (marked in the README)")
    print(f"readme check: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Notebook kernels for the tests that start without importing TensorFlow again: forked from a process that has.

A test run starts about 70 kernels (test_site.py's notebooks, the student editions, the mutation rows, the real-photo test),
and each spent about 8 s of its 2 CPU cores importing TensorFlow and Keras before its first cell did
anything. Here a zygote process per backend imports them once (no TensorFlow or JAX runtime is started:
importing starts none) and forks a child for each kernel; the child sets the kernel's environment,
directory and random seeds as a new process would have them, and runs ipykernel as `python -m
ipykernel_launcher` would.

    python tests/kernel_zygote.py serve SOCKET BACKEND   # the zygote (`start` runs one per backend)
    python tests/kernel_zygote.py launch -f CONNECTION   # the kernelspec's command: what Jupyter starts

conftest.py calls `start` in each process that runs tests when COURSE_TEST_FORK_KERNELS=1 (make test sets it).

The launcher is what Jupyter watches and signals: it forwards signals to the kernel's process group and
exits when the kernel does; a kernel whose launcher dies (SIGKILL included) exits too. Whenever the zygote
is not ready, or the kernel's environment differs from the zygote's in a variable read at import time,
the launcher runs an ordinary ipykernel instead, so the tests never depend on this shortcut.
Tests only: `make run` and `make lab` start ordinary kernels.
"""

import array
import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import time

INLINE = "module://matplotlib_inline.backend_inline"  # what ipykernel sets MPLBACKEND to when it is unset
IMPORT_TIME_PREFIXES = ("KERAS_", "TF_", "JAX_", "CUDA", "PYTHON", "OMP_", "MKL", "LD_")
BACKENDS = ("tensorflow", "jax")
START_SECONDS = 120  # the longest `start` waits for the zygotes to listen


def start(folder):
    """Start a zygote per backend listening in `folder`, and make this process's notebook kernels launch through
    them (a kernelspec in `folder` put first on JUPYTER_PATH); wait until they listen, or one has failed.

    Until a zygote is ready, and wherever it cannot serve, kernels start as usual. The zygotes are killed when
    this process exits; their logs are in `folder`.
    """
    spec = os.path.join(folder, "jupyter", "kernels", "python3")
    os.makedirs(spec)
    launcher = [sys.executable, os.path.abspath(__file__), "launch", "-f", "{connection_file}"]
    with open(os.path.join(spec, "kernel.json"), "w") as file:
        json.dump({"argv": launcher, "display_name": "Python 3 (ipykernel)", "language": "python"}, file)
    jupyter_path = [os.path.join(folder, "jupyter"), os.environ.get("JUPYTER_PATH")]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, jupyter_path))
    os.environ["KERNEL_ZYGOTES_DIR"] = folder
    zygotes = [
        subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "serve", socket_path(folder, backend), backend],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(folder, f"zygote-{backend}.log"), "wb"),
        )
        for backend in BACKENDS
    ]
    atexit.register(lambda: [process.kill() for process in zygotes])
    # Waiting costs no more than the imports the first kernels would repeat, and every kernel is then forked.
    deadline = time.monotonic() + START_SECONDS
    while not all(os.path.exists(socket_path(folder, backend)) for backend in BACKENDS) and time.monotonic() < deadline:
        if any(process.poll() is not None for process in zygotes):
            break  # a zygote failed (its log is in `folder`): kernels start as usual
        time.sleep(0.2)


def socket_path(folder, backend):
    """Where the zygote for `backend` listens, in `folder`."""
    return os.path.join(folder, f"zygote-{backend}.sock")


def import_time_environment(environment):
    """The variables a kernel's imports read: they must match between the zygote and the kernel."""
    chosen = {name: value for name, value in environment.items() if name.startswith(IMPORT_TIME_PREFIXES)}
    chosen["MPLBACKEND"] = environment.get("MPLBACKEND") or INLINE
    chosen.setdefault("KERAS_BACKEND", "tensorflow")
    return chosen


def serve(path, backend):
    """Import what every kernel imports, then fork a kernel for each request on the socket at `path`."""
    os.environ["KERAS_BACKEND"] = backend
    os.environ["MPLBACKEND"] = os.environ.get("MPLBACKEND") or INLINE
    before = dict(os.environ)
    import IPython  # noqa: F401
    import keras  # noqa: F401
    import numpy  # noqa: F401
    import tensorflow  # noqa: F401
    from ipykernel import kernelapp  # noqa: F401

    expected = import_time_environment(before)
    set_by_imports = {name: value for name, value in os.environ.items() if before.get(name) != value}
    parent = os.getppid()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # exited kernels are reaped at once, so their pid goes away
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".part")
    os.rename(path + ".part", path)  # the launcher sees the socket only once the imports are done
    listener.listen(8)
    listener.settimeout(1.0)
    while os.getppid() == parent:  # the test process that started us is gone: stop
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        connection.settimeout(None)
        request, descriptors = receive(connection)
        differences = sorted(set(import_time_environment(request["environment"]).items()) ^ set(expected.items()))
        if differences:
            print("an ordinary kernel instead: the environment differs in", differences, file=sys.stderr, flush=True)
            connection.sendall(b'{"pid": 0}\n')
            connection.close()
            for descriptor in descriptors:
                os.close(descriptor)
            continue
        pid = os.fork()
        if pid == 0:
            try:
                listener.close()
                run_kernel(connection, request, descriptors, set_by_imports)
            finally:
                os._exit(1)  # a kernel that failed to start must not go on serving as a second zygote
        connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        connection.close()
        for descriptor in descriptors:
            os.close(descriptor)


def receive(connection):
    """One request: a JSON line and the launcher's stdin, stdout and stderr."""
    descriptors = array.array("i")
    message, ancillary, _, _ = connection.recvmsg(1 << 20, socket.CMSG_LEN(3 * descriptors.itemsize))
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            descriptors.frombytes(data[: len(data) - len(data) % descriptors.itemsize])
    while not message.endswith(b"\n"):
        message += connection.recv(1 << 20)
    return json.loads(message), list(descriptors)


def run_kernel(connection, request, descriptors, set_by_imports):
    """In the forked child: become the kernel a fresh `python -m ipykernel_launcher` would be, with the
    kernel's environment plus what the imports set in it (Keras on JAX sets TF_FORCE_GPU_ALLOW_GROWTH)."""
    import random
    import threading

    import numpy

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the kernel waits for its own subprocesses
    os.setsid()  # a process group of its own, which the launcher signals (interrupts reach subprocesses too)
    for target, descriptor in enumerate(descriptors):
        os.dup2(descriptor, target)
        os.close(descriptor)
    os.environ.clear()
    os.environ.update(request["environment"])
    os.environ.update(set_by_imports)
    os.chdir(request["cwd"])
    sys.path[0] = request["cwd"]
    sys.argv = ["ipykernel_launcher", *request["arguments"]]
    random.seed()  # a new process's seeds, not the zygote's
    numpy.random.seed()

    def exit_with_the_launcher():
        connection.recv(1)  # returns when the launcher is gone
        os._exit(1)

    threading.Thread(target=exit_with_the_launcher, daemon=True).start()
    from ipykernel import kernelapp

    # ipykernel reads JPY_PARENT_PID when it is imported, which the zygote did before this kernel existed.
    parent = [f"--IPKernelApp.parent_handle={os.environ['JPY_PARENT_PID']}"] if "JPY_PARENT_PID" in os.environ else []
    code = 0
    try:
        kernelapp.launch_new_instance(argv=[*request["arguments"], *parent])
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def launch(arguments):
    """The kernelspec's command: a kernel forked by the zygote, or an ordinary one."""
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    folder = os.environ.get("KERNEL_ZYGOTES_DIR", "")
    pid, connection = 0, None
    if folder and os.path.exists(socket_path(folder, backend)):
        try:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.connect(socket_path(folder, backend))
            request = {"environment": dict(os.environ), "cwd": os.getcwd(), "arguments": arguments}
            message = json.dumps(request).encode() + b"\n"
            connection.sendmsg([message], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [0, 1, 2]))])
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = connection.recv(4096)
                if not chunk:
                    break
                reply += chunk
            pid = json.loads(reply)["pid"] if reply else 0
        except OSError:
            pid = 0
    if not pid:
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *arguments])

    def forward(number, _frame):
        try:
            os.killpg(pid, number)
        except ProcessLookupError:
            pass

    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(number, forward)
    while True:  # the connection stays open: closing it (our exit) stops the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        launch(sys.argv[2:])

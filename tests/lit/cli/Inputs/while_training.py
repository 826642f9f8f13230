"""Runs a command while a `heed train` holds its run directory.

usage: while_training.py RUN_DIR -- TRAIN_CMD... -- OTHER_CMD...

Starts TRAIN_CMD (a long `heed train --out RUN_DIR`), waits until it has locked
RUN_DIR (RUN_DIR/.lock holds its PID), runs OTHER_CMD and prints its exit code
and output, then stops the training run with SIGINT (a clean stop) and waits.
Prints "holder PID" first so that FileCheck can match the PID in the error.
"""
import os
import signal
import subprocess
import sys
import time

args = sys.argv[1:]
run_dir = args[0]
assert args[1] == "--"
rest = args[2:]
split = rest.index("--")
train_cmd, other_cmd = rest[:split], rest[split + 1:]

train = subprocess.Popen(train_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
lock = os.path.join(run_dir, ".lock")
deadline = time.time() + 300
while time.time() < deadline:
    try:
        with open(lock) as f:
            if f.read().strip() == str(train.pid):
                break
    except OSError:
        pass
    if train.poll() is not None:
        sys.exit("the training run exited early with status %d" % train.returncode)
    time.sleep(0.05)
else:
    train.kill()
    sys.exit("the training run did not lock %s" % run_dir)
print("holder %d" % train.pid)
other = subprocess.run(other_cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
print("exit %d" % other.returncode)
print(other.stdout, end="")
train.send_signal(signal.SIGINT)
train.wait(timeout=300)
print("training ended with %d" % train.returncode)

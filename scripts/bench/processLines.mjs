// Waiting for a child process to say something on stdout/stderr.

/** Resolves with the first output line containing `needle`; rejects on exit or timeout. */
export function waitForLine(child, needle, timeoutMs) {
  return new Promise((resolve, reject) => {
    let output = '';
    const done = (fn, value) => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stderr.off('data', onData);
      child.off('exit', onExit);
      // Keep draining so the child never blocks on a full pipe.
      child.stdout.resume();
      child.stderr.resume();
      fn(value);
    };
    const onData = (chunk) => {
      output += chunk.toString();
      const line = output.split('\n').find((l) => l.includes(needle));
      if (line !== undefined) done(resolve, line);
    };
    const onExit = (code) => done(reject, new Error(`process exited with ${code} before printing "${needle}":\n${output}`));
    const timer = setTimeout(() => { child.kill('SIGKILL'); done(reject, new Error(`no "${needle}" within ${timeoutMs} ms:\n${output}`)); }, timeoutMs);
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', onExit);
  });
}

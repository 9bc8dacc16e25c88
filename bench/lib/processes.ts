/**
 * Every child process, temp dir and leftover (Redis keys) the bench creates, so that all of them go
 * away however the run ends: normally, on a failure, on Ctrl+C (SIGINT) or SIGTERM.
 *
 * Children run in their own process group (detached), so that a Ctrl+C reaches only the runner,
 * which then stops them in order (SIGTERM: Gatehouse and nginx drain and exit; SIGKILL to the whole
 * group if they linger). If the runner dies abruptly, its 'exit' hook still kills every group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Child {
  name: string;
  pid: number;
  process: ChildProcess;
  /** Resolves with the exit code (or 128 + signal number style: null code, killed by a signal: -1). */
  exited: Promise<number>;
  /** The last few KiB of its stdout and stderr, for error messages. */
  output(): string;
  /** Whole stdout so far (load generators print their result there). */
  stdout(): string;
  stop(): Promise<void>;
}

const children = new Set<Child>();
const dirs = new Set<string>();
const cleanups: (() => Promise<void>)[] = [];
const STOP_GRACE_MS = 15_000;

export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-bench-${label}-`));
  dirs.add(dir);
  return dir;
}

/** Runs at cleanup, newest first (e.g. deleting the Redis keys a scenario wrote). */
export function onCleanup(fn: () => Promise<void>): () => void {
  cleanups.push(fn);
  return () => {
    const at = cleanups.indexOf(fn);
    if (at !== -1) cleanups.splice(at, 1);
  };
}

export function startChild(
  name: string,
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; keepStdout?: boolean } = {},
): Child {
  const proc = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    detached: true,
  });
  let tail = '';
  let out = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-8192);
  };
  proc.stdout!.on('data', (chunk: Buffer) => {
    keep(chunk);
    if (options.keepStdout) out += chunk.toString();
  });
  proc.stderr!.on('data', keep);
  const exited = new Promise<number>((resolve) => {
    proc.once('error', (error) => {
      keep(Buffer.from(`${error.message}\n`));
      resolve(-1);
    });
    proc.once('exit', (code) => resolve(code ?? -1));
  });
  const child: Child = {
    name,
    pid: proc.pid ?? -1,
    process: proc,
    exited,
    output: () => tail,
    stdout: () => out,
    stop: () => stopChild(child),
  };
  children.add(child);
  void exited.then(() => children.delete(child));
  return child;
}

function running(child: Child): boolean {
  return child.process.exitCode === null && child.process.signalCode === null && child.pid > 0;
}

async function stopChild(child: Child): Promise<void> {
  if (!running(child)) return;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => killGroup(child), STOP_GRACE_MS);
  await child.exited;
  clearTimeout(timer);
  // Whatever it left behind in its group (nginx workers, cluster workers) goes too.
  killGroup(child);
}

function killGroup(child: Child): void {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // the group is already gone
  }
}

export async function cleanup(): Promise<void> {
  await Promise.allSettled([...children].map((c) => c.stop()));
  for (const fn of cleanups.splice(0).reverse()) {
    await fn().catch((error: unknown) => process.stderr.write(`bench: cleanup step failed: ${String(error)}\n`));
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

let stopping = false;

/** True once Ctrl+C or SIGTERM arrived: whatever fails from then on failed because we stopped it. */
export function interrupted(): boolean {
  return stopping;
}

/**
 * Ctrl+C and SIGTERM clean up, then exit; a second Ctrl+C kills everything at once. `onInterrupt`
 * runs first (to keep what was measured so far).
 */
export function installExitHandlers(onInterrupt: (signal: NodeJS.Signals) => void = () => {}): void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130); // the 'exit' hook below still kills the children
    stopping = true;
    process.stderr.write(`\nbench: ${signal}: stopping every process and removing temp files...\n`);
    try {
      onInterrupt(signal);
    } catch (error) {
      process.stderr.write(`bench: ${String(error)}\n`);
    }
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    for (const child of children) killGroup(child);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
}

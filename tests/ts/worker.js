'use strict';
// A Temporal TypeScript SDK Worker for the harness's workflows and activities.
//
// usage: node worker.js --address HOST:PORT [--namespace NS] --task-queue Q
//                       [--max-seconds N] [--exit-on-stdin-close] [--log-level LEVEL]
//   (env fallbacks: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE)
//
// stdout (JSON lines):
//   {"ok":true,"program":"worker","status":"ready",...}     once Worker.create succeeded
//                                                           (i.e. DescribeNamespace answered)
//   {"ok":true,"program":"worker","status":"stopped","reason":...}   after a graceful shutdown
//   {"ok":false,"program":"worker","stage":...,"error":{...}}        on failure (exit code 1)
// Runs until SIGTERM/SIGINT, until --max-seconds (default 600) elapse, or, with
// --exit-on-stdin-close, until stdin reaches EOF (the parent died); each is a graceful shutdown.

const path = require('node:path');
const { inspect } = require('node:util');
const { COMMON_OPTIONS, UsageError, parseArgs, emit, fail } = require('./cli');

const PROGRAM = 'worker';
let stage = 'arguments';
let workerFailure; // the original error behind a worker failure, see RecordingLogger
let lastCoreError = ''; // core's last WARN/ERROR log line naming a gRPC status
let failureWatchdog;
let runtime;
const FAILED_EXIT_GRACE_MS = 10000;
const LOG_FLUSH_MS = 300; // forwarded core logs reach the logger in batches, ~100 ms late

/**
 * Report a failure once the pending log lines have been delivered: core's name the gRPC status,
 * and the SDK's "Worker failed" entry carries the original error (see RecordingLogger).
 * err is what main() threw, if anything; cleanupError explains a watchdog exit.
 */
let failing = false;
function failAfterLogs(err, cleanupError) {
  if (failing) return;
  failing = true;
  setTimeout(() => {
    try {
      if (runtime) runtime.flushLogs();
    } catch (_e) {
      // reporting the original error matters more
    }
    clearTimeout(failureWatchdog);
    if (workerFailure && workerFailure !== err) {
      const why = cleanupError || (err && err.message ? err.message : String(err));
      fail(PROGRAM, workerFailure, { stage, cleanupError: why }, lastCoreError);
    } else {
      fail(PROGRAM, err, { stage }, lastCoreError);
    }
  }, LOG_FLUSH_MS);
}

async function main() {
  const { options, positional } = parseArgs(process.argv.slice(2), {
    ...COMMON_OPTIONS,
    'task-queue': { ...COMMON_OPTIONS['task-queue'], required: true },
    'max-seconds': { env: 'SUNDIAL_TS_WORKER_MAX_SECONDS', default: '600', number: true },
    'exit-on-stdin-close': { flag: true },
    'log-level': { env: 'SUNDIAL_TS_LOG_LEVEL', default: 'INFO' },
  });
  if (positional.length) throw new UsageError(`unexpected arguments: ${positional.join(' ')}`);
  const { address, namespace } = options;
  const taskQueue = options['task-queue'];

  const { Worker, NativeConnection, Runtime, DefaultLogger } = require('@temporalio/worker');

  // Remembers the error of the SDK's "Worker failed" log entry: when core fails a worker (e.g. a
  // poll answered UNIMPLEMENTED past core's 60 s grace), worker.run() may reject with a secondary
  // IllegalStateError ("Worker still in use") from its own clean-up, masking the real cause.
  class RecordingLogger extends DefaultLogger {
    log(level, message, meta) {
      if (level === 'ERROR' && message === 'Worker failed' && meta && meta.error && !workerFailure) {
        workerFailure = meta.error;
        // The SDK's clean-up after a fatal error can hang (seen with 1.24 when an activity poll
        // failed first); do not let a failed worker linger.
        failureWatchdog = setTimeout(() => {
          failAfterLogs(undefined, `worker clean-up did not finish within ${FAILED_EXIT_GRACE_MS / 1000}s`);
        }, FAILED_EXIT_GRACE_MS);
      }
      if (level === 'WARN' || level === 'ERROR') {
        const text = `${message} ${meta ? inspect(meta, { breakLength: Infinity }) : ''}`;
        if (/code: \w+/.test(text)) lastCoreError = text;
      }
      super.log(level, message, meta);
    }
  }
  runtime = Runtime.install({
    logger: new RecordingLogger(options['log-level']),
    // Core's (Rust) logs go through the same logger (plain text on stderr) instead of straight to
    // the console with ANSI colours.
    telemetryOptions: { logging: { forward: {}, filter: { core: 'WARN', other: 'ERROR' } } },
    // We handle the shutdown signals ourselves, to know and report why the worker stopped.
    shutdownSignals: [],
  });

  let worker;
  let stopReason;
  const stop = (reason) => {
    if (stopReason !== undefined) {
      if (reason.startsWith('SIG')) {
        process.stderr.write(`${PROGRAM}: second ${reason} during shutdown, exiting now\n`);
        process.exit(130);
      }
      return;
    }
    stopReason = reason;
    if (worker && worker.getState() === 'RUNNING') {
      worker.shutdown();
    } else if (!worker) {
      // Not created yet (still bundling or connecting): nothing to drain.
      emit({ ok: true, program: PROGRAM, status: 'stopped', reason, taskQueue, namespace, beforeReady: true });
      process.exit(0);
    }
  };
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => stop(sig));
  const maxTimer = setTimeout(() => stop('max-seconds'), options['max-seconds'] * 1000);
  maxTimer.unref();
  if (options['exit-on-stdin-close']) {
    process.stdin.on('end', () => stop('stdin-closed'));
    process.stdin.on('error', () => stop('stdin-closed'));
    process.stdin.resume();
  }

  stage = 'connect';
  const connection = await NativeConnection.connect({ address });
  try {
    stage = 'create';
    const started = Date.now();
    worker = await Worker.create({
      connection,
      namespace,
      taskQueue,
      workflowsPath: path.join(__dirname, 'workflows.js'),
      activities: require('./activities'),
      shutdownGraceTime: '5 seconds',
    });
    stage = 'run';
    const runPromise = worker.run();
    emit({
      ok: true, program: PROGRAM, status: 'ready', address, namespace, taskQueue,
      pid: process.pid, createSeconds: (Date.now() - started) / 1000,
    });
    if (stopReason !== undefined) worker.shutdown();
    await runPromise;
    emit({ ok: true, program: PROGRAM, status: 'stopped', reason: stopReason || 'worker-stopped', taskQueue, namespace });
  } finally {
    await connection.close().catch(() => undefined);
  }
  clearTimeout(maxTimer);
  process.stdin.destroy();
}

main().then(
  () => process.exit(0),
  (err) => failAfterLogs(err),
);

'use strict';
// Shared by worker.js and client.js (NOT by workflows.js, which runs in the workflow sandbox).
//
// Conventions of both programs:
//   * options: --address HOST:PORT, --namespace NS, --task-queue Q, each with an env fallback
//     (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE); argv wins over env.
//   * stdout carries JSON lines only, each with "ok" and "program"; the SDK's own logs go to stderr.
//   * on error: one {"ok": false, "error": {...}} line on stdout, a one-line message on stderr,
//     exit code 1 (2 for usage errors).

const GRPC_CODE_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND',
  'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED',
  'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];

class UsageError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Split argv into known --options (with env fallbacks) and positional arguments.
 * spec: {optionName: {env, default, number}}; `--name value` and `--name=value` are accepted.
 */
function parseArgs(argv, spec) {
  const options = {};
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (!(name in spec)) throw new UsageError(`unknown option --${name}`);
    if (spec[name].flag) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      options[name] = true;
      continue;
    }
    let value;
    if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      value = argv[++i];
    }
    options[name] = value;
  }
  for (const [name, s] of Object.entries(spec)) {
    if (options[name] === undefined && s.env && process.env[s.env]) options[name] = process.env[s.env];
    if (options[name] === undefined && s.default !== undefined) options[name] = s.default;
    if (options[name] === undefined && s.required) {
      throw new UsageError(`--${name} is required${s.env ? ` (or set ${s.env})` : ''}`);
    }
    if (s.number && options[name] !== undefined && options[name] !== true) {
      const n = Number(options[name]);
      if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number`);
      options[name] = n;
    }
  }
  return { options, positional };
}

/**
 * The gRPC status code of err, if it (or anything in its cause chain) carries one. Errors from the
 * native (Rust core) side carry it only as text ("status: Unimplemented", "code: Unimplemented"),
 * in their message or in contextText (e.g. core's log line about the same failure).
 */
function grpcCodeOf(err, contextText = '') {
  for (let e = err, depth = 0; e && depth < 10; e = e.cause, depth++) {
    if (typeof e.code === 'number' && e.code >= 0 && e.code < GRPC_CODE_NAMES.length) return e.code;
  }
  const text = `${chainText(err)}\n${contextText}`;
  const m = /status: (\w+)/.exec(text) || /code: (\w+)/.exec(text);
  if (m) {
    const upper = m[1].replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
    const idx = GRPC_CODE_NAMES.indexOf(upper);
    if (idx !== -1) return idx;
  }
  return undefined;
}

function chainText(err) {
  const parts = [];
  for (let e = err, depth = 0; e && depth < 10; e = e.cause, depth++) {
    parts.push(`${e.name || 'Error'}: ${e.message !== undefined ? e.message : String(e)}`);
  }
  return parts.join(' <- caused by ');
}

/** A JSON-safe description of err: its class, message, the cause chain and any gRPC status. */
function describeError(err, contextText = '') {
  const chain = [];
  for (let e = err, depth = 0; e && depth < 10; e = e.cause, depth++) {
    const entry = { name: (e && e.name) || (e && e.constructor && e.constructor.name) || 'Error',
      message: e && e.message !== undefined ? String(e.message) : String(e) };
    if (e && typeof e.code === 'number') entry.code = e.code;
    if (e && typeof e.details === 'string') entry.details = e.details;
    chain.push(entry);
    if (typeof e !== 'object') break;
  }
  const code = grpcCodeOf(err, contextText);
  const out = { name: chain[0].name, message: chainText(err), chain };
  if (code !== undefined) {
    out.grpcCode = code;
    out.grpcStatus = GRPC_CODE_NAMES[code];
  }
  return out;
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/** Print the error line (stdout JSON + stderr message) and exit: 2 for usage errors, else 1. */
function fail(program, err, extra, contextText = '') {
  const usage = err instanceof UsageError;
  const error = describeError(err, contextText);
  emit({ ok: false, program, ...(extra || {}), error });
  const status = error.grpcStatus ? ` [gRPC ${error.grpcStatus}]` : '';
  process.stderr.write(`${program}: error${status}: ${error.message}\n`);
  if (usage) process.stderr.write(`${program}: see the usage comment at the top of ${program}.js\n`);
  // Let stdout/stderr drain before exiting.
  process.exitCode = usage ? 2 : 1;
  setTimeout(() => process.exit(process.exitCode), 50).unref();
}

/** Reject with a clear message if promise does not settle within ms. */
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000}s waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const COMMON_OPTIONS = {
  address: { env: 'TEMPORAL_ADDRESS', required: true },
  namespace: { env: 'TEMPORAL_NAMESPACE', default: 'default' },
  'task-queue': { env: 'TEMPORAL_TASK_QUEUE' },
};

module.exports = { COMMON_OPTIONS, UsageError, parseArgs, describeError, emit, fail, withTimeout };

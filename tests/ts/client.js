'use strict';
// A Temporal TypeScript SDK Client driving the harness's workflows.
//
// usage: node client.js --address HOST:PORT [--namespace NS] [--task-queue Q]
//                       [--timeout-seconds N] COMMAND ARGS...
//   (env fallbacks: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE)
// commands:
//   connect                          Connection.connect only (GetSystemInfo); print what it saw
//   hello <workflowId> <name>        start helloActivity(name), await its result
//   hello-no-eager <workflowId> <name>   the same with eager activity dispatch off (the activity
//                                    task then comes through PollActivityTaskQueue)
//   signal-query <workflowId>        start waitForSignal, signal setGreeting("Bonjour"),
//                                    query greeting, signal finish, await the result
// stdout: one JSON line, {"ok":true,"program":"client","command":...,...} on success, or
// {"ok":false,"program":"client","command":...,"step":...,"error":{...,"grpcStatus":...}} with
// exit code 1 (2 for usage errors). `step` names the SDK call that failed.

const { COMMON_OPTIONS, UsageError, parseArgs, emit, fail, withTimeout } = require('./cli');

const PROGRAM = 'client';
let command;
let step = 'arguments';

const COMMANDS = {
  connect: { args: [], run: connectOnly },
  hello: { args: ['workflowId', 'name'], run: (ctx, id, name) => hello(ctx, id, name, 'helloActivity') },
  'hello-no-eager': { args: ['workflowId', 'name'], run: (ctx, id, name) => hello(ctx, id, name, 'helloActivityNoEager') },
  'signal-query': { args: ['workflowId'], run: signalQuery },
};

async function main() {
  const { options, positional } = parseArgs(process.argv.slice(2), {
    ...COMMON_OPTIONS,
    'timeout-seconds': { env: 'SUNDIAL_TS_CLIENT_TIMEOUT', default: '60', number: true },
  });
  command = positional[0];
  const spec = COMMANDS[command];
  if (!spec) {
    throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : `a command is required (${Object.keys(COMMANDS).join(', ')})`);
  }
  const args = positional.slice(1);
  if (args.length !== spec.args.length) {
    throw new UsageError(`${command} takes ${spec.args.length} argument(s): ${spec.args.map((a) => `<${a}>`).join(' ')}`);
  }
  if (command !== 'connect' && !options['task-queue']) {
    throw new UsageError('--task-queue is required (or set TEMPORAL_TASK_QUEUE)');
  }

  const { Connection, Client } = require('@temporalio/client');
  const ms = options['timeout-seconds'] * 1000;
  const timed = (what, promise) => {
    step = what;
    return withTimeout(promise, ms, what);
  };

  // Connection.connect calls WorkflowService/GetSystemInfo (eagerly, to check the server).
  const connection = await timed('Connection.connect', Connection.connect({ address: options.address, connectTimeout: ms }));
  try {
    const client = new Client({ connection, namespace: options.namespace });
    const ctx = { client, connection, options, taskQueue: options['task-queue'], timed };
    const result = await spec.run(ctx, ...args);
    step = 'done';
    return result;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

async function connectOnly({ connection, options }) {
  return { address: options.address, namespace: options.namespace };
}

async function hello({ client, taskQueue, timed }, workflowId, name, workflowType) {
  const handle = await timed(
    `workflow.start(${workflowType})`,
    client.workflow.start(workflowType, { taskQueue, workflowId, args: [name] }),
  );
  const result = await timed('handle.result()', handle.result());
  return { workflowId, runId: handle.firstExecutionRunId, workflowType, result };
}

async function signalQuery({ client, taskQueue, timed }, workflowId) {
  const handle = await timed(
    'workflow.start(waitForSignal)',
    client.workflow.start('waitForSignal', { taskQueue, workflowId, args: [] }),
  );
  await timed('signal setGreeting', handle.signal('setGreeting', 'Bonjour'));
  const queried = await timed('query greeting', handle.query('greeting'));
  await timed('signal finish', handle.signal('finish'));
  const result = await timed('handle.result()', handle.result());
  return { workflowId, runId: handle.firstExecutionRunId, signalled: 'Bonjour', queried, result };
}

main().then(
  (result) => {
    emit({ ok: true, program: PROGRAM, command, ...result });
    process.exit(0);
  },
  (err) => fail(PROGRAM, err, { command, step }),
);

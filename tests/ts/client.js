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
//   children <workflowId> <name>     run parentOfTwo(name): two childGreeting children in sequence
//   child-policies <workflowId>      run parentWithPolicies: an ABANDON and a TERMINATE child;
//                                    prints the children's ids
//   update <workflowId>              start cart; executeUpdate addItem("apple") (accepted), the same
//                                    update id again (the first outcome), addItem("") (rejected by the validator), failItem("pear") (fails in the
//                                    handler); signal finish, await the result. A failed update is
//                                    reported as {"error": {...}} in "rejected" / "failed".
//   update-with-start <workflowId>   executeUpdateWithStart addItem("plum") starting cart
//                                    (USE_EXISTING), startUpdateWithStart addItem("fig") (reaches
//                                    the same run), executeUpdateWithStart with a rejected update;
//                                    signal finish, await the result
//   replay <workflowId> <runId|->    fetch the run's history (the latest run for "-") and replay it
//                                    with the TypeScript SDK's replayer (Worker.runReplayHistory)
//                                    against workflows.js; needs no --task-queue
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
  children: { args: ['workflowId', 'name'], run: children },
  'child-policies': { args: ['workflowId'], run: childPolicies },
  update: { args: ['workflowId'], run: update },
  'update-with-start': { args: ['workflowId'], run: updateWithStart },
  replay: { args: ['workflowId', 'runId'], run: replay, noTaskQueue: true },
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
  if (command !== 'connect' && !spec.noTaskQueue && !options['task-queue']) {
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

async function children({ client, taskQueue, timed }, workflowId, name) {
  const handle = await timed(
    'workflow.start(parentOfTwo)',
    client.workflow.start('parentOfTwo', { taskQueue, workflowId, args: [name] }),
  );
  const result = await timed('handle.result()', handle.result());
  return { workflowId, runId: handle.firstExecutionRunId, result };
}

async function childPolicies({ client, taskQueue, timed }, workflowId) {
  const handle = await timed(
    'workflow.start(parentWithPolicies)',
    client.workflow.start('parentWithPolicies', { taskQueue, workflowId, args: [] }),
  );
  const result = await timed('handle.result()', handle.result());
  return { workflowId, runId: handle.firstExecutionRunId, result };
}

/**
 * Run an update call that is expected to fail with WorkflowUpdateFailedError; return how it failed
 * ({"error": {name, message, cause: {name, message, type}}}). Any other outcome throws.
 */
async function expectUpdateFailure(timed, what, promise) {
  const { WorkflowUpdateFailedError } = require('@temporalio/client');
  try {
    const value = await timed(what, promise);
    throw new Error(`${what} succeeded with ${JSON.stringify(value)}; expected WorkflowUpdateFailedError`);
  } catch (err) {
    if (!(err instanceof WorkflowUpdateFailedError)) throw err;
    const cause = err.cause ? { name: err.cause.name, message: err.cause.message, type: err.cause.type } : null;
    return { error: { name: err.name, message: err.message, cause } };
  }
}

async function update({ client, taskQueue, timed }, workflowId) {
  const handle = await timed(
    'workflow.start(cart)',
    client.workflow.start('cart', { taskQueue, workflowId, args: [] }),
  );
  const accepted = await timed(
    'executeUpdate addItem("apple")',
    handle.executeUpdate('addItem', { args: ['apple'], updateId: 'add-apple' }),
  );
  // The same update id again: the server answers the first outcome, the handler does not run twice.
  const repeated = await timed(
    'executeUpdate addItem("apple") again',
    handle.executeUpdate('addItem', { args: ['apple'], updateId: 'add-apple' }),
  );
  const rejected = await expectUpdateFailure(
    timed, 'executeUpdate addItem("")', handle.executeUpdate('addItem', { args: [''], updateId: 'add-empty' }),
  );
  const failed = await expectUpdateFailure(
    timed, 'executeUpdate failItem("pear")', handle.executeUpdate('failItem', { args: ['pear'], updateId: 'fail-pear' }),
  );
  const items = await timed('query items', handle.query('items'));
  await timed('signal finish', handle.signal('finish'));
  const result = await timed('handle.result()', handle.result());
  return { workflowId, runId: handle.firstExecutionRunId, accepted, repeated, rejected, failed, items, result };
}

async function updateWithStart({ client, taskQueue, timed }, workflowId) {
  const { WithStartWorkflowOperation } = require('@temporalio/client');
  const startOp = () =>
    new WithStartWorkflowOperation('cart', { taskQueue, workflowId, args: [], workflowIdConflictPolicy: 'USE_EXISTING' });
  const firstOp = startOp();
  const first = await timed(
    'executeUpdateWithStart addItem("plum")',
    client.workflow.executeUpdateWithStart('addItem', { args: ['plum'], startWorkflowOperation: firstOp }),
  );
  const handle = await timed('workflowHandle() (first)', firstOp.workflowHandle());
  const { runId } = await timed('handle.describe()', handle.describe());
  // The second operation waits only for ACCEPTED: its update handle names the run it reached.
  const secondOp = startOp();
  const secondUpdate = await timed(
    'startUpdateWithStart addItem("fig")',
    client.workflow.startUpdateWithStart('addItem', {
      args: ['fig'], waitForStage: 'ACCEPTED', startWorkflowOperation: secondOp,
    }),
  );
  const second = await timed('updateHandle.result() (fig)', secondUpdate.result());
  await timed('workflowHandle() (second)', secondOp.workflowHandle());
  const thirdOp = startOp();
  const rejected = await expectUpdateFailure(
    timed,
    'executeUpdateWithStart addItem("")',
    client.workflow.executeUpdateWithStart('addItem', { args: [''], startWorkflowOperation: thirdOp }),
  );
  await timed('workflowHandle() (third)', thirdOp.workflowHandle());
  await timed('signal finish', handle.signal('finish'));
  const result = await timed('handle.result()', handle.result());
  return { workflowId, runId, secondRunId: secondUpdate.workflowRunId, first, second, rejected, result };
}

async function replay({ client, timed }, workflowId, runId) {
  const path = require('node:path');
  const handle = client.workflow.getHandle(workflowId, runId === '-' ? undefined : runId);
  const history = await timed('handle.fetchHistory()', handle.fetchHistory());
  const { Worker } = require('@temporalio/worker');
  // Throws DeterminismViolationError (or the workflow task's failure) if the replay diverges.
  await timed(
    'Worker.runReplayHistory',
    Worker.runReplayHistory({ workflowsPath: path.join(__dirname, 'workflows.js') }, history, workflowId),
  );
  return { workflowId, runId, events: history.events.length, replayed: true };
}

main().then(
  (result) => {
    emit({ ok: true, program: PROGRAM, command, ...result });
    process.exit(0);
  },
  (err) => fail(PROGRAM, err, { command, step }),
);

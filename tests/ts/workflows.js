'use strict';
// Workflows for the TypeScript SDK harness. worker.js passes this file as `workflowsPath`; the
// Worker bundles it (webpack, in-process, offline) and runs it in its deterministic sandbox, so it
// may require only '@temporalio/workflow' (and other sandbox-safe modules).

const wf = require('@temporalio/workflow');

// Only startToCloseTimeout is set, as most user code does: the server must fill in
// schedule_to_close_timeout (and the rest) before dispatching the activity task; the TypeScript
// worker rejects an activity task whose scheduleToCloseTimeout is unset.
const { greet } = wf.proxyActivities({ startToCloseTimeout: '30 seconds' });

/** hello-activity: one activity, its result is the workflow's result. */
async function helloActivity(name) {
  return await greet(name);
}

// The SDK asks for eager dispatch by default, so the server may hand the activity task back in
// the RespondWorkflowTaskCompleted response; this variant forces the PollActivityTaskQueue path.
const { greet: greetPolled } = wf.proxyActivities({ startToCloseTimeout: '30 seconds', allowEagerDispatch: false });

/** hello-activity with the activity task delivered through PollActivityTaskQueue. */
async function helloActivityNoEager(name) {
  return await greetPolled(name);
}

const setGreetingSignal = wf.defineSignal('setGreeting');
const finishSignal = wf.defineSignal('finish');
const greetingQuery = wf.defineQuery('greeting');

/** Holds a greeting that signal `setGreeting` changes and query `greeting` reads; returns it after signal `finish`. */
async function waitForSignal() {
  let greeting = 'Hello';
  let finished = false;
  wf.setHandler(setGreetingSignal, (value) => {
    greeting = value;
  });
  wf.setHandler(finishSignal, () => {
    finished = true;
  });
  wf.setHandler(greetingQuery, () => greeting);
  await wf.condition(() => finished);
  return greeting;
}

// --- child workflows ---------------------------------------------------------------------------

/** A child: greets name through the activity, so it takes a few workflow tasks. */
async function childGreeting(name) {
  return await greet(name);
}

/** Runs two childGreeting children one after the other (ids `<own id>-child-1`, `-child-2`); joins their results. */
async function parentOfTwo(name) {
  const { workflowId } = wf.workflowInfo();
  const first = await wf.executeChild(childGreeting, { workflowId: `${workflowId}-child-1`, args: [`${name} 1`] });
  const second = await wf.executeChild(childGreeting, { workflowId: `${workflowId}-child-2`, args: [`${name} 2`] });
  return `${first} | ${second}`;
}

/**
 * Starts two waitForSignal children, `<own id>-abandoned` (parentClosePolicy ABANDON) and
 * `<own id>-terminated` (TERMINATE), waits until both have started and returns their ids: when
 * this parent completes, the first keeps running and the second is terminated.
 */
async function parentWithPolicies() {
  const { workflowId } = wf.workflowInfo();
  const abandoned = await wf.startChild(waitForSignal, {
    workflowId: `${workflowId}-abandoned`,
    parentClosePolicy: wf.ParentClosePolicy.ABANDON,
  });
  const terminated = await wf.startChild(waitForSignal, {
    workflowId: `${workflowId}-terminated`,
    parentClosePolicy: wf.ParentClosePolicy.TERMINATE,
  });
  return {
    abandoned: { workflowId: abandoned.workflowId, runId: abandoned.firstExecutionRunId },
    terminated: { workflowId: terminated.workflowId, runId: terminated.firstExecutionRunId },
  };
}

// --- updates -----------------------------------------------------------------------------------

const addItemUpdate = wf.defineUpdate('addItem');
const failItemUpdate = wf.defineUpdate('failItem');
const itemsQuery = wf.defineQuery('items');

/**
 * A cart that update `addItem(item)` fills: the validator rejects an empty item (no event is
 * written), the handler greets the item through the activity (so the update completes in a
 * later workflow task than the one that accepted it) and returns the greeting. Update
 * `failItem(item)` is accepted and then fails with an ApplicationFailure. Returns the items
 * after signal `finish`, once every handler has finished.
 */
async function cart() {
  const items = [];
  let finished = false;
  wf.setHandler(
    addItemUpdate,
    async (item) => {
      const greeting = await greet(item);
      items.push(item);
      return greeting;
    },
    {
      validator: (item) => {
        if (typeof item !== 'string' || item === '') throw new Error('item must be a non-empty string');
      },
    },
  );
  wf.setHandler(failItemUpdate, async (item) => {
    throw wf.ApplicationFailure.nonRetryable(`cannot add ${item}`, 'OutOfStock');
  });
  wf.setHandler(itemsQuery, () => items);
  wf.setHandler(finishSignal, () => {
    finished = true;
  });
  await wf.condition(() => finished && wf.allHandlersFinished());
  return items;
}

module.exports = {
  helloActivity, helloActivityNoEager, waitForSignal, childGreeting, parentOfTwo, parentWithPolicies, cart,
};

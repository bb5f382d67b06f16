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

module.exports = { helloActivity, helloActivityNoEager, waitForSignal };

'use strict';
// Activities for the TypeScript SDK harness; registered by worker.js.

async function greet(name) {
  return `Hello, ${name}!`;
}

module.exports = { greet };

// `npm run test:faults`: the fault suite (test/faults/*.fault.ts) on the project's Jest setup. Its files are
// not *.test.ts, so `npm test` does not run them; they spawn the real API, worker and temporal-dev.
import base from '../../jest.config.js';

export default {
  ...base,
  rootDir: '../..',
  testMatch: ['<rootDir>/test/faults/**/*.fault.ts'],
  // Scenarios kill and restart processes and time their recovery: one file at a time on a small machine.
  maxWorkers: 1,
  testTimeout: 600_000,
};

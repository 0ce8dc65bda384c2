import { defineConfig } from 'vitest/config'

// Tests import workspace packages through the "source" export condition, so they run against
// src/*.ts directly and never against a stale dist/.
//
// Workers: on 2 cores vitest would run one file at a time (cores − 1), yet most files spend their
// time waiting on sockets, child processes and chains, so two at a time nearly halves the suite.
// Files that measure time, flood a process or drive a browser run afterwards, one at a time, so
// nothing else shares the cores with them. BITCDN_TEST_WORKERS=1 runs everything one at a time.
// devnet.test.ts runs shared: it measures no time or memory (every wait is a poll with a generous
// deadline), and it passed run beside node-daemon, paid-many-connections and get-paid.
const workers = Number(process.env.BITCDN_TEST_WORKERS ?? 2)
const SERIAL = [
  'test/market/paid-throughput.test.ts',
  'test/market/paid-swarm.test.ts', // the cheaper sellers serve more: relative throughput
  'test/node/node-paid-e2e.test.ts',
  'test/swarm/hostile-*.test.ts',
  'test/swarm/swarm-limits.test.ts',
  'test/pay/seller-attacks.test.ts',
  'test/interop/many-files.test.ts',
  'test/gateway/video.test.ts',
  'test/web/site*.test.ts',
]

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', './scripts/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'shared', include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'], exclude: SERIAL, maxWorkers: workers, sequence: { groupOrder: 0 } },
      },
      { extends: true, test: { name: 'alone', include: SERIAL, maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
})

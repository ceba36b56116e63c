/**
 * Scenario plumbing of the game day: a world per scenario on its own simulated clock, the CLI's
 * injected outside world (clock, sleep, health check through the front door), and the table of
 * simulated times the suite prints at the end.
 */
import type { CommandDeps } from '../../lib/cli/command';
import { createAwsClients } from '../../lib/cli/aws';
import { SimClock } from './stand-in/clock';
import type { Deployment } from './stand-in/codedeploy';
import { HEALTHY, type VersionProfile } from './stand-in/service-versions';
import type { TemplateJson } from './stand-in/template';
import { type DatabaseEndpoint, World, type WorldOptions } from './stand-in/world';

/** 03:00 UTC on a Tuesday: the hour game days are about. Minute-aligned. */
export const START = Date.parse('2026-11-24T03:00:00Z');

/** Rows of the printed table: scenario, what was measured, simulated seconds. */
export const TIMES: Array<{ scenario: string; measure: string; seconds: number | string }> = [];

export function record(scenario: string, measure: string, ms: number | undefined): void {
  TIMES.push({ scenario, measure, seconds: ms === undefined ? 'never' : Math.round(ms / 1000) });
}

export function formatTimes(): string {
  const rows = TIMES.map((t) => [t.scenario, t.measure, String(t.seconds)]);
  const widths = [0, 1, 2].map((i) =>
    Math.max(...rows.map((r) => r[i].length), ['scenario', 'measured', 'sim s'][i].length),
  );
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [
    '',
    'Game day: simulated times',
    line(['scenario', 'measured', 'sim s']),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
  ].join('\n');
}

export interface Scenario {
  readonly world: World;
  readonly clock: SimClock;
}

/** A world at START with version 1 live (and, when asked, version 2 deployed through CodeDeploy). */
export async function newScenario(
  template: TemplateJson,
  environment: 'production' | 'staging',
  database: DatabaseEndpoint,
  options: {
    trafficPerMinute: number;
    secondHealthyVersion?: boolean;
    hookEnvironment?: WorldOptions['hookEnvironment'];
  },
): Promise<Scenario & { stopTraffic: () => void; v1: string }> {
  const clock = new SimClock(START, (now) => jest.setSystemTime(now));
  const world = new World({
    stackName: `${environment.charAt(0).toUpperCase()}${environment.slice(1)}-Stateless`,
    template,
    clock,
    database,
    hookEnvironment: options.hookEnvironment,
  });
  const v1 = world.bootstrap({ ...HEALTHY, label: 'v1' });
  const stopTraffic = world.startTraffic(options.trafficPerMinute);
  if (options.secondHealthyVersion) {
    const d = world.deployNewCode({ ...HEALTHY, label: 'v2' });
    await finish(clock, d, 30 * 60_000);
    if (d.status !== 'Succeeded')
      throw new Error(`setup: deploying version 2 ended ${d.status}: ${JSON.stringify(d.events)}`);
  }
  return { world, clock, stopTraffic, v1 };
}

/** Runs the clock until the deployment ends (or `limitMs` passed). */
export async function finish(clock: SimClock, d: Deployment, limitMs: number): Promise<void> {
  await clock.until(() => d.status !== 'InProgress' && d.status !== 'Created', limitMs);
}

/** The CLI's outside world on the simulated clock; health checks go through the front door. */
export function cliDeps(world: World): CommandDeps & { output(): string } {
  let stdout = '';
  let stderr = '';
  const controller = new AbortController();
  return {
    stdout: { write: (t: string) => (stdout += t), isTTY: false },
    stderr: { write: (t: string) => (stderr += t) },
    interactive: false,
    ask: async () => '',
    now: () => world.clock.now(),
    sleep: async (ms, signal) => {
      if (signal.aborted) throw Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
      await world.clock.advance(ms);
    },
    healthCheck: async (url) => {
      const path = new URL(url).pathname;
      const answer = await world.request('GET', path);
      return { healthy: answer.status >= 200 && answer.status < 300, detail: `HTTP ${answer.status}` };
    },
    signal: controller.signal,
    createClients: async (region) => createAwsClients({ region }),
    migrationsDir: `${__dirname}/../../migrations`,
    pollIntervalMs: 5_000,
    output: () => `${stdout}\n${stderr}`,
  };
}

/** The newer version profile objects are mutable: an incident can start on a live version. */
export function profile(label: string, faults: Omit<VersionProfile, 'label'> = {}): VersionProfile {
  return { label, ...faults };
}
